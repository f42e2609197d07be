// The diagnostics catalogue: every FTI code once, with its severity, its
// title (docs/language.md has one `#### FTInnnn — title` heading per entry; a
// test compares them) and typed builders for its messages. Call sites pass
// parameters and never write message text:
//
//   ctx.report(range, DIAG.unknownName.inScope(name, scope.where, scope.names()));
//
// A builder returns a `Message` (code, severity, text and hint). "Did you
// mean" hints are made here, by `didYouMean`, from the candidates a builder is
// given. To add a code: add an entry (in code order), a fixture in
// test/fixtures/diagnostics/FTInnnn-*.fti and a heading in docs/language.md.

import { closest, type Severity } from "./diagnostics.ts";

/** A built message, ready to be placed at a range (DiagnosticBag.add, Ctx.report). */
export interface Message {
  code: number;
  severity: Severity;
  message: string;
  hint?: string;
  /** The quick fix the hint describes, if it is mechanical (diagnostics.ts turns it into text edits). */
  fix?: FixIntent;
}

/**
 * A fix, before it has a place: replace the diagnostic's own span (a
 * misspelt name by the one meant), or add an item (a clause) to the
 * declaration the diagnostic is in.
 */
export type FixIntent = { kind: "replace"; text: string; title?: string } | { kind: "addItem"; item: string };

/** A hint that is also a fix: "did you mean `x`?" replaces the span with x. */
export class Suggestion {
  constructor(
    readonly hint: string,
    readonly fix: FixIntent,
  ) {}
}

/** A hint: text, or text with its fix. */
export type Hint = string | Suggestion;

/** What a builder returns: the text, or the text and a hint. */
type Text = string | { message: string; hint?: Hint };

// `any[]` so that each builder keeps its own typed parameters in `Entry`.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Builders = Record<string, (...args: any[]) => Text>;

export interface EntryInfo {
  code: number;
  severity: Severity;
  title: string;
}

export type Entry<B extends Builders> = EntryInfo & { readonly [K in keyof B]: (...args: Parameters<B[K]>) => Message };

function entry<B extends Builders>(code: number, severity: Severity, title: string, builders: B): Entry<B> {
  const out: Record<string, unknown> = { code, severity, title };
  for (const [name, build] of Object.entries(builders)) {
    out[name] = (...args: unknown[]): Message => {
      const text = build(...args);
      const m: Message = typeof text === "string" ? { code, severity, message: text } : { code, severity, message: text.message };
      const hint = typeof text === "string" ? undefined : text.hint;
      if (hint instanceof Suggestion) {
        m.hint = hint.hint;
        m.fix = hint.fix;
      } else if (hint) m.hint = hint;
      return m;
    };
  }
  return out as Entry<B>;
}

/** "did you mean `x`?" for the candidate closest to `name` (none when nothing is close, or it is `name` itself); its fix puts x in the span. */
export function didYouMean(name: string, candidates: Iterable<string>): Suggestion | undefined {
  const best = closest(name, candidates);
  return best !== undefined && best !== name ? replaceWith(best) : undefined;
}

/** "did you mean `x`?" for the one candidate that has `name` as a word of it (`classification` → `binary_classification`). */
function namesPart(name: string, candidates: readonly string[]): Suggestion | undefined {
  const word = name.toLowerCase();
  const having = candidates.filter((c) => c.toLowerCase().split("_").includes(word));
  return having.length === 1 ? replaceWith(having[0]) : undefined;
}

/** "did you mean `text`?", fixed by writing `text` over the diagnostic's span. */
export function replaceWith(text: string): Suggestion {
  return new Suggestion(`did you mean \`${text}\`?`, { kind: "replace", text });
}

/** "add `item`", fixed by adding the item (a clause) to the enclosing declaration; `rest` follows the quoted item in the hint. */
function addItem(item: string, rest = ""): Suggestion {
  return new Suggestion(`add \`${item}\`${rest}`, { kind: "addItem", item });
}

/** Quotes a piece of source for a message: `x`, shortened when long. */
export function quoteSource(s: string, max = 24): string {
  const shown = s.length > max ? s.slice(0, max) + "…" : s;
  return "`" + shown + "`";
}

const withHint = (message: string, hint: Hint | undefined): Text => ({ message, hint });

/** A cycle's path; a long one as its ends (a cycle of thousands would be a message of thousands of names). */
export function showCycle(cycle: readonly string[]): string {
  const ends = 6;
  if (cycle.length <= 2 * ends + 1) return cycle.join(" → ");
  return [...cycle.slice(0, ends), `… ${cycle.length - 2 * ends} more …`, ...cycle.slice(-ends)].join(" → ");
}
const s = (n: number) => (n === 1 ? "" : "s");
const DID_YOU_MEAN_OR = (name: string, candidates: Iterable<string>, otherwise: string): Hint => didYouMean(name, candidates) ?? otherwise;
const NAME_THE_COLUMN = (entity: string) => `name the column that holds it: \`for ${entity}(<column>)\``;

/** What a name the store reserves (`ingested_at` or `rowid`, in any case) is, for FTI2047: `verb` says what the feature pipeline did to the row. */
const storeColumnIs = (name: string, verb: string): string =>
  name.toLowerCase() === "rowid"
    ? "DuckDB's position of each row (`rowid`), which a column of that name would hide from fti's statements"
    : `the column fti adds to every stored row (\`ingested_at\`: when the feature pipeline ${verb} it)`;

/** `features g.a by x, g.b by y`: the hint of FTI1001 at the `,` after a `by`/`as`. */
export const JOIN_CLAUSE_HINT =
  "`by` and `as` end a `features` line and apply to each group on it: give the next join its own line (`features g.b by y`)";

/** `feature_group g for e from s by col {`: the hint of FTI1001 at `by` (a group names its key columns after the entity). */
export const GROUP_KEY_COLUMNS_HINT = (entity: string | undefined, column: string | undefined, from: string | undefined) =>
  entity && column && from
    ? `a group names the column that holds the entity's key after the entity: \`for ${entity}(${column}) from ${from}\``
    : "a group names the column that holds the entity's key after the entity: `for <entity>(<column>) from <source>`";

export const DECLARATIONS_HINT =
  "a declaration starts with source, entity, fn, extern fn, feature_group, on_demand, view, model or serve";

/** `hidesBuiltin`: the ODT's name is also a built-in function's (an ODT named `hour` makes `hour(date)` this error). */
const ODT_CALLED = (name: string, hidesBuiltin = false) =>
  withHint(
    `\`${name}\` is an on-demand transformation; it is listed in a view's features, not called`,
    hidesBuiltin ? `the on_demand \`${name}\` hides the built-in function \`${name}()\` in the whole spec: give the on_demand another name` : undefined,
  );
const WINDOW_OUTSIDE = (agg: string, where: string) =>
  `windowed aggregation \`${agg}\` is only allowed in a feature group (a MIT), not in ${where}`;

// ------------------------------------------------------------------ 1xxx syntax

const syntax = {
  unexpectedToken: entry(1001, "error", "unexpected token", {
    /** Tokens after a complete declaration. `suggestion`: a didYouMean() of a misspelt keyword. */
    trailing: (found: string, declLabel: string | undefined, suggestion?: Hint) =>
      withHint(`unexpected ${found}${declLabel ? ` after the end of \`${declLabel}\`` : ""}`, suggestion ?? DECLARATIONS_HINT),
    expectedDeclaration: (found: string, suggestion?: Hint) =>
      withHint(`expected a declaration but found ${found}`, suggestion ?? DECLARATIONS_HINT),
    unclosedBlock: (block: string, found: string) => `expected \`}\` to close ${block} but found ${found}`,
    unexpectedInBlock: (found: string, block: string, items: string, suggestion?: Hint) =>
      withHint(`unexpected ${found} in ${block}; expected ${items} or \`}\``, suggestion),
    unclosedList: (closer: string, found: string) => `expected \`,\` or ${closer} but found ${found}`,
    /** `column`: the keyword names a source field, likely after a column of the data: `from` reads it. */
    keywordAsName: (found: string, column?: { name: string; type: string }) =>
      withHint(
        `expected a name but found the keyword ${found}`,
        column === undefined
          ? `${found} is a reserved word and cannot be used as a name`
          : `${found} is a reserved word and cannot be a field's name; to read a column named so, name the field otherwise: \`${column.name}_value: ${column.type} from "${column.name}"\``,
      ),
    expected: (expected: string, after: string, found: string, suggestion?: Hint) =>
      withHint(`expected ${expected}${after} but found ${found}`, suggestion),
    duplicateClause: (what: string, declLabel: string) =>
      withHint(`duplicate \`${what}\` in \`${declLabel}\``, `remove one of the \`${what}\` lines`),
    secondLocation: (declLabel: string, kind: string) =>
      withHint(`\`${declLabel}\` already has a ${kind}`, "a source reads from one `path` or one `table`"),
    versionNotWhole: (image: string) => `a feature group version must be a whole number, not \`${image}\``,
    chainedComparison: () => withHint("comparison operators cannot be chained", "combine comparisons with `and`, or add parentheses"),
    /** A contextual word of a `schedule` or `retrain` item that is not the one expected (`every`, `when`, `promote`). */
    retrainWord: (expected: string, found: string, example: string) => withHint(`expected ${expected}, found \`${found}\``, `write ${example}`),
    internalParse: (detail: string) => `could not parse this declaration (internal error: ${detail})`,
    internalRead: (detail: string) => `could not read this declaration (internal error: ${detail})`,
    internalParser: (detail: string) => `internal parser error: ${detail}`,
  }),
  unterminatedString: entry(1002, "error", "unterminated string literal", {
    at: () => withHint("unterminated string literal", 'close the string with `"` before the end of the line'),
  }),
  unterminatedComment: entry(1003, "error", "unterminated block comment", {
    at: () => withHint("unterminated block comment", "close the comment with `*/`"),
  }),
  invalidCharacter: entry(1004, "error", "invalid character", {
    /** A run of characters that cannot start a token. */
    run: (run: string) => withHint(`invalid ${describeChars(run)}`, invalidCharHint(run)),
    single: () => "invalid character",
  }),
  invalidEscape: entry(1005, "error", "invalid escape sequence", {
    outOfRange: (seq: string) =>
      withHint(`invalid escape sequence ${quoteSource(seq)}: code point out of range`, "unicode escapes go up to \\u{10FFFF}"),
    notACharacter: (seq: string) =>
      withHint(`invalid escape sequence ${quoteSource(seq)}: not a character a string can hold`, "NUL (\\u{0}) and the surrogates \\u{d800} to \\u{dfff} are not allowed"),
    badUnicode: (seq: string) =>
      withHint(`invalid escape sequence ${quoteSource(seq)}`, "write a unicode escape as \\u{hex}, for example \\u{e9}"),
    unknown: (seq: string) => withHint(`invalid escape sequence ${quoteSource(seq)}`, 'valid escapes are \\" \\\\ \\n \\t \\r and \\u{hex}'),
  }),
  invalidLiteral: entry(1006, "error", "invalid number, duration or date literal", {
    numberTooLarge: (image: string) => `number ${quoteSource(image)} is too large`,
    integerTooLarge: (image: string) =>
      withHint(
        `integer ${quoteSource(image)} is too large: ints are exact up to 9007199254740991 (2^53 - 1)`,
        "beyond it SQL and the TypeScript of ODTs would hold different values; write a float (`9.3e18`) if an approximation will do",
      ),
    /** `detail` says which part of a well-shaped date is out of range; without it the shape is wrong. */
    date: (image: string, detail?: string) =>
      detail
        ? `invalid date ${quoteSource(image)}: ${detail}`
        : withHint(`invalid date ${quoteSource(image)}`, "write dates as YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z]"),
    durationTooLarge: (image: string) => withHint(`duration ${quoteSource(image)} is too large`, "durations go up to 9007199254740991ms (about 285,000 years)"),
    durationFraction: (image: string) =>
      withHint(`duration ${quoteSource(image)} is not a whole number of microseconds`, "timestamps count microseconds: the shortest duration is 0.001ms"),
    emptyExponent: (image: string) => `invalid number ${quoteSource(image)}: the exponent has no digits`,
    unknownUnit: (unit: string, image: string) =>
      withHint(`unknown duration unit ${quoteSource(unit)} in ${quoteSource(image)}`, "duration units are ms, s, m, h, d and w"),
    number: (image: string) => `invalid number ${quoteSource(image)}`,
  }),
  nestingTooDeep: entry(1007, "error", "nesting too deep", {
    expression: (max: number) =>
      withHint(`expression nested too deeply (more than ${max} levels)`, "split the expression into smaller functions or features"),
    declaration: () => "declaration nested too deeply to parse",
  }),
  emptySpec: entry(1008, "warning", "empty spec (warning)", {
    noDeclarations: () => withHint("the file contains no declarations", DECLARATIONS_HINT),
  }),
};

function describeChars(run: string): string {
  const chars = [...run];
  const noun = chars.length === 1 ? "character" : "characters";
  if (/^[\x21-\x7e]+$/.test(run)) return `${noun} ${quoteSource(run, 16)}`;
  const shown = chars.slice(0, 4).map((ch) => {
    const cp = ch.codePointAt(0) ?? 0;
    const code = "U+" + cp.toString(16).toUpperCase().padStart(4, "0");
    return /^[\p{L}\p{N}\p{P}\p{S}]$/u.test(ch) ? "`" + ch + "` (" + code + ")" : code;
  });
  if (chars.length > 4) shown.push("…");
  return `${noun} ${shown.join(" ")}`;
}

function invalidCharHint(run: string): string | undefined {
  if (run.startsWith("'")) return "strings use double quotes: \"...\"";
  if (run.startsWith("#")) return "comments start with `//`";
  if (run.startsWith(";")) return "no `;` is needed: declarations and items end at the line break";
  if (run.startsWith("!")) return "use `not` for negation, `!=` for inequality";
  if (run.startsWith("&") || run.startsWith("|")) return "use `and` / `or`";
  if (/^[\u201c\u201d]/.test(run)) return "use straight double quotes: \"...\"";
  // `pérson`, `Größe`: a name from the data, in a language other than English.
  if (/^\p{L}/u.test(run)) return "names are ASCII letters, digits and `_`; read a column named otherwise with `from \"...\"` (`size: float from \"Größe\"`)";
  return undefined;
}

// ------------------------------------------------------------------ 2xxx names

const names = {
  duplicateDeclaration: entry(2001, "error", "duplicate declaration", {
    name: (name: string, kind: string, line: number) => `\`${name}\` is already declared as ${kind} at line ${line}`,
    serve: (model: string) => `model \`${model}\` already has a serve block`,
  }),
  unknownName: entry(2002, "error", "unknown name", {
    inScope: (name: string, where: string, candidates: Iterable<string>) =>
      withHint(`unknown name \`${name}\` in ${where}`, didYouMean(name, candidates)),
    function: (name: string, candidates: Iterable<string>) => withHint(`unknown function \`${name}\``, didYouMean(name, candidates)),
    windowAgg: (agg: string, aggs: readonly string[]) =>
      withHint(`unknown windowed aggregation \`${agg}\`; the aggregations are ${aggs.join(", ")}`, didYouMean(agg, aggs)),
    sourceColumn: (source: string, column: string, candidates: Iterable<string>) =>
      withHint(`source \`${source}\` has no column \`${column}\``, didYouMean(column, candidates)),
    clauseColumn: (clause: string, column: string, source: string, candidates: Iterable<string>) =>
      withHint(`\`${clause}\` column \`${column}\` is not a field of source \`${source}\``, didYouMean(column, candidates)),
    viewFeature: (name: string, view: string, candidates: Iterable<string>) =>
      withHint(`\`${name}\` is not a feature of view \`${view}\``, didYouMean(name, candidates)),
  }),
  unknownDeclaration: entry(2003, "error", "unknown declaration", {
    /** `what`: "entity", "source or feature group", ... */
    of: (what: string, name: string, candidates: Iterable<string>) => withHint(`unknown ${what} \`${name}\``, didYouMean(name, candidates)),
  }),
  wrongKind: entry(2004, "error", "declaration of the wrong kind", {
    /** `isA`, `expected`: with their article ("an entity"). */
    of: (name: string, isA: string, expected: string) => `\`${name}\` is ${isA}, not ${expected}`,
    groupAsFeature: (name: string) => `\`${name}\` is a feature group; list its features as \`${name}.*\` or \`${name}.<feature>\``,
    agentContext: (name: string) => `an agent's context lists stored features (\`group.*\` or \`group.feature\`), not \`${name}\``,
    byOnOdt: (name: string) =>
      withHint(`\`by\` and \`as\` apply to feature groups; \`${name}\` is not one`, "list on-demand transformations on a `features` line of their own"),
  }),
  cycle: entry(2005, "error", "dependency cycle", {
    functions: (cycle: string[]) => `functions call each other in a cycle: ${showCycle(cycle)}`,
    groups: (cycle: string[]) => `feature groups read from each other in a cycle: ${showCycle(cycle)}`,
    features: (where: string, cycle: string[]) => `features of ${where} depend on each other in a cycle: ${showCycle(cycle)}`,
  }),
  unknownFeature: entry(2006, "error", "unknown feature of a group", {
    of: (group: string, feature: string, candidates: Iterable<string>) =>
      withHint(`feature group \`${group}\` has no feature \`${feature}\``, didYouMean(feature, candidates)),
  }),
  duplicate: entry(2007, "error", "duplicate field, feature or transform", {
    field: (name: string, where: string) => `field \`${name}\` is declared twice in ${where}`,
    feature: (name: string, where: string) => `feature \`${name}\` is declared twice in ${where}`,
    fnParam: (name: string, fn: string) => `parameter \`${name}\` is declared twice in \`${fn}\``,
    odtParam: (name: string, where: string) => `parameter \`${name}\` appears twice in ${where}`,
    viewFeature: (name: string, where: string) => `\`${name}\` appears twice in the features of ${where}`,
    key: (name: string, entity: string) => `key \`${name}\` is declared twice in entity \`${entity}\``,
    uniqueField: (name: string, source: string) => `field \`${name}\` appears twice in the \`unique\` of source \`${source}\``,
    fieldColumn: (field: string) => `field \`${field}\` names its column twice (\`from\`)`,
    column: (column: string, field: string, other: string) => withHint(`fields \`${other}\` and \`${field}\` both read the column ${JSON.stringify(column)}`, "a column is one field: refer to the field where the other one was needed"),
    agentContext: (name: string, where: string) => `\`${name}\` appears twice in the context of ${where}`,
    agentRetrieve: (index: string, where: string) => `index \`${index}\` is retrieved twice in ${where}`,
    agentTool: (model: string, where: string) => `tool \`${model}\` is listed twice in ${where}`,
    transform: (name: string) =>
      `\`${name}\` already has a \`transform\` line; list all its steps on one line, e.g. \`transform ${name}: impute(median), standard_scale\``,
  }),
  unused: entry(2008, "warning", "unused declaration (warning)", {
    declaration: (kind: string, name: string) => `${kind} \`${name}\` is never used`,
  }),
  moduleNotFound: entry(2009, "error", "module or file not found", {
    missing: (module: string, lookedFor: string) => `module \`${module}\` not found (looked for ${lookedFor})`,
    unreadable: (module: string, detail: string) => `module \`${module}\` cannot be read: ${detail}`,
    /** An `import ... from "./x.fti"` whose file does not exist (`lookedFor`: relative to the working directory). */
    spec: (module: string, lookedFor: string) =>
      withHint(`spec module \`${module}\` not found (looked for ${lookedFor})`, "the path is relative to the importing spec's folder"),
  }),
  qualifiedName: entry(2010, "error", "qualified name in an expression", {
    inExpression: (object: string, property: string) =>
      withHint(`qualified name \`${object}.${property}\` cannot be used in an expression`, `refer to the column by its name: \`${property}\``),
  }),
  shadowsColumn: entry(2011, "error", "feature shadows an input column", {
    feature: (name: string, input: string) =>
      withHint(`feature \`${name}\` has the name of a column of \`${input}\``, `rename it, e.g. \`${name}_value\``),
    keyColumn: (name: string, entity: string) =>
      withHint(`feature \`${name}\` has the name of the key column of the group's table (entity \`${entity}\`)`, `rename it, e.g. \`${name}_value\``),
  }),
  unknownOption: entry(2012, "error", "unknown option value", {
    task: (name: string, tasks: readonly string[]) =>
      withHint(`unknown task \`${name}\`; the tasks are ${tasks.join(", ")}`, didYouMean(name, tasks) ?? namesPart(name, tasks)),
    algorithm: (name: string, candidates: readonly string[]) =>
      withHint(`unknown algorithm \`${name}\`; use linear, logistic, gbdt or onnx "file"`, didYouMean(name, candidates)),
    asOf: (name: string) => withHint(`\`as_of\` is \`strict\` or \`inclusive\`, not \`${name}\``, didYouMean(name, ["strict", "inclusive"])),
    format: (name: string, formats: readonly string[]) =>
      withHint(`unknown format \`${name}\`; use one of ${formats.join(", ")}`, didYouMean(name, formats)),
    formatOfPath: (path: string) => {
      // `.csv.gz`: fti reads the files as they are, so `format csv` would read compressed bytes as text
      const packed = /^(.*)\.(gz|bz2|xz|zst|zip)$/i.exec(path);
      return packed
        ? withHint(`\`${path}\` is compressed (.${packed[2]}): fti reads csv, parquet and ndjson files uncompressed`, `decompress it (\`${packed[2].toLowerCase() === "gz" ? "gunzip -k" : "unpack"} ${path.split("/").pop()}\`) and read \`${packed[1]}\``)
        : withHint(`cannot tell the format of \`${path}\` from its extension`, "add `format csv`, `format parquet` or `format ndjson`");
    },
  }),
  unknownExtern: entry(2013, "error", "unknown declaration in an extern module", {
    function: (module: string, name: string, candidates: Iterable<string>) =>
      withHint(`module \`${module}\` exports no function \`${name}\``, didYouMean(name, candidates)),
  }),
  missingClause: entry(2014, "error", "missing required clause", {
    label: (where: string) => `${where} has no label: add \`label <name> = <source>.<column>\``,
    labelTime: (source: string) =>
      withHint(
        `source \`${source}\` is reference data (no \`event_time\`): a label needs the time it happened`,
        "take the label from an event source; reference data joins in as features",
      ),
    validFrom: (source: string) =>
      withHint(`source \`${source}\` has \`valid_to\` without \`valid_from\``, "add `valid_from <column>`: the time each row starts to hold"),
    modelClause: (where: string, what: string, example: string) => `${where} has no \`${what}\`: add \`${example}\``,
    modelInputs: (where: string, view: string) =>
      withHint(
        `${where} has no inputs: view \`${view}\` lists no features`,
        `add a \`features\` line to view \`${view}\`: a group's features (\`features <group>.*\`), a column of its spine source (\`features <source>.<column>\`) or an on_demand`,
      ),
    retrainTrigger: () => withHint("a `retrain` block needs a `schedule` or a `when` trigger", 'e.g. `when drift(psi > 0.25)` or `schedule "0 3 * * *"`'),
    onnxFile: () => "`algorithm onnx` needs the model file: `algorithm onnx \"model.onnx\"`",
    location: (source: string) => `source \`${source}\` says nowhere where its data is: add \`path "..."\` or \`table schema.name\``,
    entityKey: (entity: string) => `entity \`${entity}\` has no key: add \`key <name>: <type>\``,
    viewLabel: (where: string, source: string) => `${where} has no label: add \`label <name> = <expression over ${source}'s columns>\``,
    viewSpine: (where: string, view: string) =>
      `${where} has no spine: write \`view ${view} from <source>\` (one row per event) or \`for <entity> from <source>\``,
    viewSpineSource: (where: string, entity: string) =>
      withHint(`${where} has no spine source: add \`from <source>\` after \`for ${entity}\``, "or take the label from a source column: `label <name> = <source>.<column>`"),
    agentLlm: (where: string) =>
      withHint(`${where} has no \`llm\`: name the model to ask, e.g. \`llm "coach"\``, "the endpoint is configuration (FTI_LLM_URL); the spec names the model"),
    agentLlmEmpty: (where: string) => `the \`llm\` of ${where} is empty: name the model to ask`,
  }),
  pathOutsideProject: entry(2015, "error", "path outside the project", {
    /** The message names no absolute path and no file content: only what the spec says. */
    /** `configProblem`: why fti.json's sourceRoots were not read (source-paths.ts sourceRootsProblem). */
    source: (path: string, configProblem: string | null = null) =>
      withHint(
        `source path \`${path}\` leads outside the project`,
        configProblem ??
          "keep the data inside the project (the folder of the nearest fti.json, package.json or .git above the spec), or add its folder to `sourceRoots` in fti.json",
      ),
    /** `symlink`: the path as written stays inside, but its real path (a symlink followed) does not. */
    externModule: (module: string, symlink = false) =>
      withHint(
        `extern module \`${module}\` ${symlink ? "is a symbolic link that leads" : "lies"} outside the project`,
        "keep the module inside the project (the folder of the nearest fti.json, package.json or .git above the spec)",
      ),
    /** `symlink`: the path as written stays inside, but its real path (a symlink followed) does not. */
    specModule: (module: string, symlink: boolean) =>
      withHint(
        `spec module \`${module}\` ${symlink ? "is a symbolic link that leads" : "lies"} outside the project`,
        "a spec imports only specs of its own project (the folder of the nearest fti.json, package.json or .git above the importing spec)",
      ),
  }),
  validityOnEvents: entry(2030, "error", "validity columns on an event source", {
    source: (source: string) =>
      withHint(
        `source \`${source}\` has an \`event_time\`: \`valid_from\`/\`valid_to\` are for reference data, which has none`,
        "events are joined by their event_time; drop `event_time` if the rows are reference values that hold from `valid_from` on",
      ),
  }),
  rowColumns: entry(2048, "error", "row column as an input clashes or reads an event", {
    /** `kind`: what already has the name ("fn", "feature group", "another column input"). */
    clash: (column: string, source: string, kind: string) =>
      withHint(
        `column \`${column}\` of \`${source}\` cannot be a model input of that name: ${kind === "another column input" ? "another source's column input of that name has another type" : `a ${kind} is named \`${column}\``}`,
        `write its ODT yourself under another name: \`on_demand ${column}_in(request ${column}: <type>): <type> = ${column}\``,
      ),
    starOnEvents: (source: string, where: string) =>
      withHint(
        `\`${source}.*\` would give the model every column of each event of ${where}, also those known only after it happened (the label's own outcome among them)`,
        `list the columns known when a prediction is requested: \`features ${source}.<column>, …\``,
      ),
  }),
  storeColumn: entry(2047, "error", "name of a column fti adds to the store", {
    field: (field: string, source: string) =>
      withHint(
        `field \`${field}\` of source \`${source}\` has the name of ${storeColumnIs(field, "read")}`,
        `name the field otherwise and read the column with \`from\`: \`${field}_value: <type> from "${field}"\``,
      ),
    feature: (feature: string, group: string) =>
      withHint(`feature \`${feature}\` of feature group \`${group}\` has the name of ${storeColumnIs(feature, "computed")}`, `rename it, e.g. \`${feature}_value\``),
    key: (key: string, entity: string) =>
      withHint(`key \`${key}\` of entity \`${entity}\` has the name of ${storeColumnIs(key, "stored")}`, `rename it, e.g. \`${key}_value\` (a group names the column that holds it: \`for ${entity}(<column>)\`)`),
  }),
  importPath: entry(2040, "error", "invalid import path", {
    absolute: (module: string) =>
      withHint(`import path \`${module}\` is absolute`, "write it relative to the importing spec's folder, starting with `./` or `../`"),
    notRelative: (module: string) =>
      withHint(`import path \`${module}\` must start with \`./\` or \`../\``, `write \`./${module}\` for a spec in the same folder`),
    notSpec: (module: string) => withHint(`import path \`${module}\` does not name a spec`, "a spec module is a `.fti` file: `./common.fti`"),
    backslash: (module: string) => withHint(`import path \`${module}\` contains a backslash`, "separate folders with `/`"),
    folderName: (module: string) =>
      withHint(`import path \`${module}\` names a spec whose file name cannot name its generated folder`, "rename the spec, e.g. `./common.fti` (its name without .fti is its folder in generated/)"),
  }),
  notExported: entry(2041, "error", "name not declared by the module", {
    unknown: (name: string, module: string, candidates: Iterable<string>) =>
      withHint(`\`${name}\` is not declared in \`${module}\``, didYouMean(name, candidates)),
    reexport: (name: string, module: string, origin: string) =>
      withHint(`\`${name}\` is imported by \`${module}\`, not declared there`, `import it from where it is declared: \`${origin}\``),
    kind: (name: string, kind: string, module: string) =>
      withHint(
        `\`${name}\` is a ${kind} of \`${module}\`; only sources, entities, fns, feature groups and on-demand transformations can be imported`,
        "views, models, indexes, agents and serve blocks belong to the spec that declares them",
      ),
  }),
  importCycle: entry(2042, "error", "import cycle", {
    of: (cycle: string[]) =>
      withHint(`specs import each other in a cycle: ${showCycle(cycle)}`, "move what both need into a third spec that both import"),
  }),
  importClash: entry(2043, "error", "imported name clashes", {
    withLocal: (name: string, module: string) =>
      withHint(`\`${name}\` is declared here and also imported from \`${module}\``, "rename the local declaration, or drop the import"),
    twice: (name: string, module: string) => `\`${name}\` is imported twice (already from \`${module}\`)`,
    /** Two different declarations of one name reach the spec (one through an import's dependencies): they would share a store table or generated name. */
    dependency: (name: string, needs: string, first: string, second: string) =>
      withHint(
        `\`${name}\` of \`${second}\` (needed by \`${needs}\`) and \`${name}\` of \`${first}\` are different declarations with one name`,
        "names are unique across a spec and every module it reads: rename one of them",
      ),
    localDependency: (name: string, module: string) =>
      withHint(
        `\`${name}\` is declared here and also in module \`${module}\`, where a declaration this spec imports depends on it`,
        "names are unique across a spec and every module it reads (they name store tables and generated code): rename this one",
      ),
  }),
  unusedImport: entry(2044, "warning", "unused import (warning)", {
    name: (name: string, module: string) => withHint(`\`${name}\` is imported from \`${module}\` but never used`, "remove it from the import"),
  }),
  moduleHasErrors: entry(2045, "error", "imported module has errors", {
    of: (module: string, errors: number) =>
      withHint(`spec module \`${module}\` has ${errors} error${s(errors)}`, "fix them first: names imported from it are not checked here"),
  }),
  moduleNameClash: entry(2046, "error", "two modules with one name", {
    of: (name: string, first: string, second: string) =>
      withHint(
        `specs \`${first}\` and \`${second}\` are both named \`${name}\`; their generated code would share generated/${name}/`,
        "rename one of the files",
      ),
  }),
};

// ------------------------------------------------------------------ 3xxx types

const types = {
  unknownType: entry(3001, "error", "unknown type", {
    named: (name: string, known: readonly string[]) =>
      withHint(`unknown type \`${name}\`; the types are ${known.join(", ")}`, didYouMean(name, known)),
  }),
  typeMismatch: entry(3002, "error", "type mismatch", {
    /** `field`: the request field the input passes on unchanged (a row column or an identity ODT), for the hint. */
    timestampInput: (input: string, field?: string) =>
      withHint(
        `\`${input}\` is a timestamp, and a model input is a number, bool or string`,
        `give the model a number computed from it, e.g. \`on_demand ${input}_year(request ${field ?? "<field>"}: timestamp): int = year(${field ?? "<field>"})\``,
      ),
    listValue: () => "a list is not a value here; lists only appear in `in (...)` and bucketize boundaries",
    negate: (type: string) => `\`-\` needs a number, got ${type}`,
    not: (type: string) => `\`not\` needs a bool, got ${type}`,
    /** `what`: "needs two numbers", "compares values of different types", ... */
    binary: (op: string, what: string, left: string, right: string) => `\`${op}\` ${what}, got ${left} and ${right}`,
    ifBranches: (a: string, b: string) => `the branches of \`if\` have different types: ${a} and ${b}`,
    featureValue: (type: string) => `a feature must be a value (int, float, bool, string or timestamp), got ${type}`,
    label: (column: string, type: string) => `a label must be a number, a bool or a string (a class), \`${column}\` is ${type}`,
    requestField: (name: string, type: string, odt: string, otherType: string, where: string) =>
      `request field \`${name}\` is ${type} in \`${odt}\` but ${otherType} in another ODT of ${where}`,
    timestampColumn: (clause: string, column: string, type: string) => `\`${clause}\` column \`${column}\` must be a timestamp, got ${type}`,
    requireLiteral: () => "`require` compares with a number literal",
    triggerLiteral: () => "a retrain trigger compares with a number literal",
    odtCalled: ODT_CALLED,
  }),
  arity: entry(3003, "error", "wrong number of arguments", {
    fn: (name: string, params: string[], given: number) =>
      withHint(
        `\`${name}\` takes ${params.length} argument${s(params.length)} but ${given} ${given === 1 ? "was" : "were"} given`,
        `${name}(${params.join(", ")})`,
      ),
    /** A built-in or an aggregation: `expect` is "2", "1 to 2" or "at least 2". */
    expects: (name: string, expect: string, plural: boolean, given: number) =>
      `\`${name}\` expects ${expect} argument${plural ? "s" : ""}, got ${given}`,
    windowAgg: (agg: string, given: number) => `\`${agg}\` takes ${agg === "count" ? "0 or 1 arguments" : "1 argument"}, got ${given}`,
  }),
  argumentType: entry(3004, "error", "argument type mismatch", {
    fn: (param: string, fn: string, expected: string, got: string) => `argument \`${param}\` of \`${fn}\` is ${expected}, got ${got}`,
    builtin: (index: number, param: string, name: string, expected: string, got: string) =>
      `argument ${index} (\`${param}\`) of \`${name}\` must be ${expected}, got ${got}`,
    builtinOrdered: (index: number, name: string, got: string) =>
      `argument ${index} of \`${name}\` must be an ordered type (int, float, string, timestamp, bool, duration), got ${got}`,
    builtinSame: (name: string, got: string[]) => `arguments of \`${name}\` must all have the same type, got ${got.join(", ")}`,
    /** A string argument that must be a non-empty literal (embed's model). */
    literalString: (param: string, name: string, why: string) => `\`${param}\` of \`${name}\` must be a non-empty string literal, ${why}`,
  }),
  nullable: entry(3005, "error", "nullable column where a value is required", {
    clauseColumn: (clause: string, column: string) => `\`${clause}\` column \`${column}\` is nullable; it must always have a value`,
    entityKey: (key: string) => `entity key \`${key}\` cannot be nullable`,
  }),
  bodyType: entry(3006, "error", "body type differs from the declared type", {
    of: (name: string, body: string, declared: string) => `the body of \`${name}\` is ${body} but it is declared to return ${declared}`,
  }),
  condition: entry(3007, "error", "condition is not bool", {
    check: (type: string) => `a check must be a bool expression, got ${type}`,
    ifCondition: (type: string) => `the condition of \`if\` must be bool, got ${type}`,
    where: (type: string) => withHint(`a \`where\` filter must be a bool, got ${type}`, "compare a column, e.g. `sport == \"run\"`"),
  }),
  externSignature: entry(3008, "error", "extern signature differs from its TypeScript declaration", {
    mismatch: (name: string, problems: string[]) => `extern fn \`${name}\` does not match its TypeScript declaration: ${problems.join("; ")}`,
  }),
  literalType: entry(3009, "error", "literal type differs from the field type", {
    allowedValue: (base: string, field: string, got: string) =>
      `\`in\` value must be ${base === "int" ? "an" : "a"} ${base} literal for field \`${field}\`, got ${got}`,
    inValue: (value: string, left: string) => `\`in\` value is ${value} but the left side is ${left}`,
  }),
  hyperparameter: entry(3010, "error", "invalid hyperparameter", {
    positional: (algorithm: string, first: string) => `hyperparameters are named: \`${algorithm}(${first}: ...)\``,
    unknown: (algorithm: string, name: string, known: string[]) =>
      withHint(`\`${algorithm}\` has no hyperparameter \`${name}\`; it takes ${known.join(", ")}`, didYouMean(name, known)),
    range: (name: string, isInt: boolean, min: number, max: number) =>
      `\`${name}\` must be ${isInt ? "an int" : "a number"} in [${min}, ${max === Infinity ? "∞" : max}]`,
    retrieveTop: (max: number) => `\`top\` must be a whole number from 1 to ${max}`,
  }),
  timestampFormat: entry(3065, "error", "invalid timestamp format", {
    notTimestamp: (field: string, type: string) =>
      withHint(`\`format\` spells a timestamp, and field \`${field}\` is \`${type}\``, "remove the `format`, or declare the field `timestamp`"),
    /** `instead`: what a strftime shorthand (`%e`, `%T`) is written as. */
    directive: (directive: string, supported: readonly string[], instead?: string) =>
      withHint(
        `\`${directive}\` is not a directive fti reads`,
        instead ? `write ${instead}` : `the directives are ${supported.map((d) => "%" + d).join(" ")} (and %% for a percent sign)`,
      ),
    noYear: (pattern: string) => withHint(`format \`${pattern}\` has no year`, "add %Y (four digits) or %y (two digits)"),
    twice: (field: string) => `field \`${field}\` has two formats`,
  }),
  durationExpected: entry(3011, "error", "duration expected", {
    /** `days`: the number written instead of a duration, if any. */
    over: (days?: number) =>
      withHint("`over` needs a duration literal such as `7d` or `12h`", days === undefined ? undefined : replaceWith(`${days}d`)),
    ttl: () => "`ttl` needs a duration literal such as `90d`",
    ttlPositive: () => "`ttl` must be positive",
    overNext: () => "`over next` needs a positive duration literal such as `7d`",
    lateness: () => withHint("`lateness` needs a duration literal such as `1h`", "`lateness 0s` applies no event that arrives after a later one"),
    missingWindow: (name: string) => `\`${name}\` is a windowed aggregation and needs a window: \`${name}(...) over 28d\``,
  }),
  externInCheck: entry(3012, "error", "extern fn in a source check", {
    /** `through`: the fn the check calls that runs the extern fn, when it is not the extern fn itself. */
    of: (extern: string, through?: string) =>
      withHint(
        `a source's \`check\` cannot run extern fn \`${extern}\`${through ? ` (\`${through}\` calls it)` : ""}: checks run in DuckDB while the source is read, where extern fns are not available`,
        "check with fns and built-ins, or compute the value as a feature of a group (extern fns run there)",
      ),
  }),
  vectorType: entry(3101, "error", "invalid vector type or length", {
    /** `dim`: the length written (NaN when it is not a number). */
    length: (dim: number, max: number) => `a vector's length must be a whole number from 1 to ${max}, not ${Number.isNaN(dim) ? "this" : dim}`,
    notFloat: (base: string, dim: number) => withHint(`\`${base}[${dim}]\` is not a type: only float vectors exist`, `write \`float[${dim}]\``),
    /** A built-in whose argument is part of its result type (embed's length). */
    literalLength: (param: string, name: string) =>
      `the ${param} of \`${name}\` must be a whole number written in the spec (it is the feature's type, float[N])`,
  }),
  vectorScalar: entry(3102, "error", "vector where a scalar is required", {
    /** A written type (source field, key, fn or ODT parameter). */
    written: (where: string, base: string, dim: number) =>
      `${where} cannot be a vector (\`${base}[${dim}]\`); vectors are features of feature groups, computed by \`embed\` or an extern fn`,
    viewFeature: (ref: string, type: string) =>
      withHint(`\`${ref}\` is a vector (${type}); a view's features are model inputs and must be scalars`, "retrieve by similarity with an `index` on the group instead"),
    agentContext: (ref: string, type: string) =>
      withHint(`\`${ref}\` is a vector (${type}); an agent's context is text for the LLM`, "retrieve documents by similarity with `retrieve INDEX top K`"),
  }),
};

// ------------------------------------------------------------------ 4xxx transformation rules and leakage

const rules = {
  windowOutsideGroup: entry(4001, "error", "windowed aggregation outside a feature group", {
    in: WINDOW_OUTSIDE,
  }),
  odtInGroup: entry(4002, "error", "on-demand transformation used in a feature group", {
    name: (name: string, where: string) =>
      withHint(
        `\`${name}\` is an on-demand transformation (ODT): it runs at request time and cannot be used in ${where}`,
        "ODTs belong in a view's `features`; feature groups may only use source columns, other features and fns",
      ),
    called: ODT_CALLED,
  }),
  windowNested: entry(4003, "error", "windowed aggregation nested in an expression", {
    in: (agg: string) =>
      withHint("a windowed aggregation must be a feature's whole expression", `give \`${agg}(...) over ...\` its own feature and refer to it by name`),
    forward: () => "a forward aggregation cannot be nested in another one",
  }),
  unknownMdt: entry(4004, "error", "unknown model-dependent transformation", {
    named: (name: string, known: readonly string[]) =>
      withHint(`unknown model-dependent transformation \`${name}\`; the MDTs are ${known.join(", ")}`, didYouMean(name, known)),
  }),
  mdtOutsideModel: entry(4005, "error", "model-dependent transformation outside a model", {
    in: (name: string, where: string) =>
      withHint(`\`${name}\` is a model-dependent transformation (MDT) and cannot be used in ${where}`, `declare it in a model: \`transform <feature>: ${name}\``),
  }),
  mdtMisfit: entry(4006, "error", "transformation does not fit the input's type", {
    oneHotNotLast: () => "`one_hot` expands a value into several columns, so it must be the last step",
    stringInput: (input: string) => withHint(`input \`${input}\` is a string; a model needs numbers`, addItem(`transform ${input}: one_hot`)),
    oneHotFloat: (input: string, type: string) =>
      withHint(`\`one_hot\` needs categories (string, bool or int); \`${input}\` is ${type}`, "use bucketize first, or a numeric transformation"),
    imputeConstantType: (isString: boolean, input: string) =>
      `\`impute(constant: ...)\` value must be a ${isString ? "string" : "number"} for \`${input}\``,
    numericInput: (mdt: string, input: string, type: string) => `\`${mdt}\` needs a numeric input; \`${input}\` is ${type}`,
    noArguments: (mdt: string) => `\`${mdt}\` takes no arguments`,
    clipArgs: () => "`clip` takes `min: <number>` and/or `max: <number>`",
    clipOrder: () => "`clip` needs min ≤ max",
    imputeArity: () => "`impute` takes one argument: `impute(mean)`, `impute(median)` or `impute(constant: 0)`",
    imputeConstant: () => "`impute(constant: ...)` needs a number or string literal",
    imputeStrategy: () => "`impute` takes `mean`, `median` or `constant: <value>`",
    bucketizeArgs: () => "`bucketize` takes increasing number boundaries: `bucketize([0, 5, 10])`",
    bucketizeOrder: () => "`bucketize` boundaries must increase",
    oneHotArgs: () => "`one_hot` takes an optional `categories: [\"a\", \"b\"]`",
  }),
  missingValues: entry(4007, "error", "input can be missing and the model cannot take missing values", {
    input: (input: string, algorithm: string) =>
      withHint(
        `input \`${input}\` can be missing (no history within the ttl, or null), and a ${algorithm} model cannot take missing values`,
        addItem(`transform ${input}: impute(median)`, ", or use gbdt, which learns where missing values go"),
      ),
  }),
  labelLeakFeature: entry(4008, "error", "label leakage through a feature", {
    inclusive: (feature: string, labelColumn: string, where: string) =>
      withHint(
        `feature \`${feature}\` is derived from the label \`${labelColumn}\` and ${where} joins features inclusively at the label's event time: each training row would see its own answer`,
        "use `as_of strict` (features strictly before the label), or drop the feature",
      ),
    derived: (feature: string, column: string, label: string, where: string) =>
      withHint(
        `feature \`${feature}\` is derived from \`${column}\`, which the label \`${label}\` reads, and ${where} joins features inclusively at the label's event time: each training row would see its own answer`,
        "use `as_of strict` (features strictly before the label), or drop the feature",
      ),
    /** A view over rows without time: a feature of the row's own reference data is its own answer. */
    untimed: (feature: string, column: string, label: string, where: string, source: string) =>
      withHint(
        `feature \`${feature}\` is derived from \`${column}\`, which the label \`${label}\` reads, and the rows of ${where} have no time (\`${source}\` has no \`event_time\`): the feature holds each training row's own answer`,
        "drop the feature, or label by a column no feature reads",
      ),
  }),
  labelLeakRequest: entry(4009, "error", "label leakage through a request field", {
    field: (odt: string, field: string, labelColumn: string) =>
      `ODT \`${odt}\` takes request field \`${field}\`, which is the label column \`${labelColumn}\`: the model would be given the answer`,
    /** `others`: the label's other columns, which the view's request fields give too; `column`: the input is the spine row's column (`features source.column`), not an ODT. */
    labelReads: (odt: string, field: string, label: string, source: string, others: string[], column = false) =>
      `${column ? `input \`${source}.${field}\` is request field \`${field}\`` : `ODT \`${odt}\` takes request field \`${field}\``}, which the label \`${label}\` reads (\`${source}.${field}\`)${others.length ? ` and the view's request fields give the rest of it (${others.join(", ")})` : ""}: the model would be given the answer`,
  }),
  windowDirection: entry(4010, "error", "window does not look back", {
    negative: (positive: string) => `a window only looks back: use a positive duration like \`${positive}\``,
    empty: (text: string) => `a window of \`${text}\` covers nothing: windows look back a positive duration`,
    /** `over`: the window written after `over next`, or "7d". */
    forward: (over: string) =>
      withHint("a feature only looks back: `over next` is for labels, which may look forward", `\`over ${over}\` aggregates the window before each row`),
  }),
  entityKeyMissing: entry(4011, "error", "entity key missing from the input", {
    type: (key: string, keyType: string, input: string, columnType: string) =>
      `entity key \`${key}\` is ${keyType} but \`${input}.${key}\` is ${columnType}`,
    /** No `for E(col)`: the key is looked up by its own name; the hint names a close column, else says how to name one. */
    missing: (input: string, key: string, entity: string, candidates: Iterable<string>) =>
      withHint(`\`${input}\` has no column \`${key}\`, the key of entity \`${entity}\``, DID_YOU_MEAN_OR(key, candidates, NAME_THE_COLUMN(entity))),
    count: (entity: string, keys: string[], written: number) =>
      `entity \`${entity}\` has ${keys.length} key${s(keys.length)} (${keys.join(", ")}) but \`for ${entity}(...)\` names ${written} column${s(written)}`,
    /** `for E(col)` names a column of another type. */
    writtenType: (key: string, keyType: string, input: string, column: string, columnType: string) =>
      `entity key \`${key}\` is ${keyType} but \`${input}.${column}\` is ${columnType}`,
    writtenMissing: (input: string, column: string, candidates: Iterable<string>) =>
      withHint(`\`${input}\` has no column \`${column}\``, didYouMean(column, candidates)),
  }),
  otherEntity: entry(4012, "error", "feature group's entity cannot be mapped onto the spine", {
    /** `keys`: the group's keys with their types; `by`: the column(s) to suggest. */
    unmapped: (group: string, entity: string, keys: string, source: string, column: string, ref: string, by: string) =>
      withHint(
        `feature group \`${group}\` is for entity \`${entity}\`, keyed by ${keys}, and spine source \`${source}\` has no column \`${column}\` to join it on`,
        // A guessed column is a fix: the reference with its `by` (a `<column>` placeholder is not).
        by.includes("<")
          ? `say which column of \`${source}\` holds the key: \`features ${ref} by ${by}\``
          : new Suggestion(`say which column of \`${source}\` holds the key: \`features ${ref} by ${by}\``, { kind: "replace", text: `${ref} by ${by}`, title: `Join on \`by ${by}\`` }),
      ),
    /** groupEntity null: a global group (no `for`). */
    group: (group: string, groupEntity: string | null, where: string, entity: string) =>
      groupEntity === null
        ? `feature group \`${group}\` is global (no \`for\`: one series without keys), but ${where} is for \`${entity}\` and reads features by its keys`
        : `feature group \`${group}\` is for entity \`${groupEntity}\`, but ${where} is for \`${entity}\``,
    index: (index: string, indexEntity: string, where: string, entity: string) =>
      `index \`${index}\` is for entity \`${indexEntity}\`, but ${where} is for \`${entity}\``,
  }),
  labelSourceColumn: entry(4013, "error", "column missing from the label source", {
    key: (source: string, key: string, keyType: string, entity: string) =>
      `label source \`${source}\` has no column \`${key}\` (${keyType}), the key of entity \`${entity}\``,
    requestFieldType: (field: string, type: string, source: string, columnType: string) =>
      `request field \`${field}\` is ${type} but \`${source}.${field}\` is ${columnType}`,
    requestFieldMissing: (field: string, odt: string, source: string) =>
      `request field \`${field}\` of \`${odt}\` has no column of the same name in label source \`${source}\`; training takes request fields from the label's rows`,
    spineRequestFieldMissing: (field: string, odt: string, source: string) =>
      `request field \`${field}\` of \`${odt}\` has no column of the same name in spine source \`${source}\`; training takes request fields from the spine's rows`,
    spineKey: (source: string, key: string, keyType: string, entity: string) =>
      withHint(`spine source \`${source}\` has no column \`${key}\` (${keyType}), the key of entity \`${entity}\``, NAME_THE_COLUMN(entity)),
    spineKeyType: (source: string, column: string, columnType: string, key: string, entity: string, keyType: string) =>
      withHint(`\`${source}.${column}\` is ${columnType} but the key \`${key}\` of entity \`${entity}\` is ${keyType}`, NAME_THE_COLUMN(entity)),
    labelSource: (source: string, where: string, spine: string) =>
      withHint(`the label reads source \`${source}\`, but the spine of ${where} is \`${spine}\``, `write the label over \`${spine}\`'s columns`),
  }),
  taskMisfit: entry(4014, "error", "algorithm does not fit the task", {
    regressionLabel: (label: string, type: string) => `regression needs a numeric label; \`${label}\` is ${type}`,
    binaryLabel: (label: string, type: string) => `binary classification needs a bool (or 0/1 int) label; \`${label}\` is ${type}`,
    algorithm: (algorithm: string, task: string, alternatives: string) =>
      withHint(`\`${algorithm}\` does not do ${task.replace("_", " ")}`, `use ${alternatives}`),
  }),
  invalidSplit: entry(4015, "error", "invalid split", {
    testLast: () => "`test_last` takes a positive duration: `split time(test_last: 90d)`",
    time: () =>
      "a time split is `split time(test_from: 2025-06-01)` (rows at or after the date are the test set) or `split time(test_last: 90d)` (the last 90 days of labels)",
    random: () => "a random split is `split random(test_fraction: 0.2, seed: 42)` with 0 < test_fraction < 1 and an int seed",
    unknown: (name: string) =>
      withHint(
        `unknown split \`${name}\`; use \`time(test_from: <date>)\` or \`random(test_fraction: 0.2, seed: 42)\``,
        didYouMean(name, ["time", "random"]),
      ),
  }),
  unknownMetric: entry(4016, "error", "unknown or unsuitable metric", {
    /** `candidates`: the names a misspelling may have meant (empty for a real metric of another kind). */
    metric: (name: string, task: string, valid: string[], candidates: string[]) =>
      withHint(`\`${name}\` is not a metric of ${task}; use ${valid.join(", ")}`, didYouMean(name, candidates)),
    require: (name: string, task: string, valid: string[], candidates: string[]) =>
      withHint(`\`require\` names \`${name}\`, which is not a metric of ${task}; use ${valid.join(", ")}`, didYouMean(name, candidates)),
    /** `what`: "`live` reads" or "`better` compares". */
    retrain: (what: string, name: string, task: string, valid: string[]) =>
      withHint(`${what} a metric of ${task}: ${valid.join(", ")}; \`${name}\` is not one`, didYouMean(name, valid)),
  }),
  serveNothing: entry(4017, "error", "serve declares nothing to serve", {
    model: (model: string) => withHint(`serve \`${model}\` declares nothing to serve`, addItem("online", " and/or `batch into predictions.<table>`")),
  }),
  odtFeatureMissing: entry(4018, "error", "ODT reads a feature the view does not have", {
    feature: (odt: string, feature: string, where: string) =>
      withHint(`ODT \`${odt}\` reads \`${feature}\`, which ${where} does not include`, `add \`${feature}\` to its features`),
  }),
  aggregationArgument: entry(4019, "error", "aggregation argument of the wrong kind", {
    kind: (agg: string, expected: string, got: string) => `the argument of \`${agg}\` must be ${expected}, got ${got}`,
    ordered: (agg: string, got: string) => `the argument of \`${agg}\` must be an ordered type, got ${got}`,
  }),
  unknownByColumn: entry(4020, "error", "`by` names a column the spine does not have", {
    spine: (source: string, where: string, column: string, candidates: Iterable<string>) =>
      withHint(`spine source \`${source}\` of ${where} has no column \`${column}\``, didYouMean(column, candidates)),
  }),
  byColumnMisfit: entry(4021, "error", "`by` column does not fit the group's key", {
    /** `for E(...)` of a view names another number of columns than E has keys. */
    entityCount: (entity: string, keys: number, written: number) =>
      `entity \`${entity}\` has ${keys} key${s(keys)} but \`for ${entity}(...)\` names ${written} column${s(written)}`,
    /** `keyText`: the group's keys with their types. */
    byCount: (group: string, keys: number, entity: string, keyText: string, written: number) =>
      `feature group \`${group}\` is joined on ${keys} key${s(keys)} of entity \`${entity}\`, ${keyText}, but \`by\` names ${written} column${s(written)}`,
    byType: (source: string, column: string, columnType: string, key: string, entity: string, keyType: string) =>
      `\`${source}.${column}\` is ${columnType} but the key \`${key}\` of entity \`${entity}\` is ${keyType}`,
    /** `for E(col)` of a view names a column of another type. */
    spineKeyType: (source: string, column: string, columnType: string, key: string, entity: string, keyType: string) =>
      withHint(`\`${source}.${column}\` is ${columnType} but the key \`${key}\` of entity \`${entity}\` is ${keyType}`, NAME_THE_COLUMN(entity)),
  }),
  joinNameCollision: entry(4022, "error", "feature name collision between joined groups", {
    spineColumn: (feature: string, group: string, where: string) =>
      withHint(
        `feature \`${feature}\` of \`${group}\` has the name of the spine column \`${feature}\` that ${where} reads (a key or request field)`,
        "rename the features of that line with a prefix: `... as <prefix>_`",
      ),
    /** `side`, `other`: "`group` by columns"; `rename`: the features line with a prefix to suggest. */
    joins: (feature: string, side: string, other: string, where: string, rename: string) =>
      withHint(`feature \`${feature}\` of ${side} has the name of \`${feature}\` of ${other} in ${where}`, `rename one side with a prefix: \`${rename}\``),
  }),
  labelTaskMisfit: entry(4023, "error", "label type does not fit the task", {
    /** `label`: "`name = text`". */
    regression: (label: string, view: string, type: string) =>
      withHint(
        `regression needs a numeric label; the label ${label} of view \`${view}\` is ${type}`,
        type.startsWith("string") ? "use `task multiclass_classification` to predict its values as classes" : "use `task binary_classification` for a yes/no label",
      ),
    /** `condition`: the label written as a condition, to suggest. */
    binary: (label: string, view: string, type: string, condition: string) =>
      withHint(`binary classification needs a bool label; the label ${label} of view \`${view}\` is ${type}`, `write the label as a condition, e.g. \`${condition}\``),
    /** A label that is not a string or an int: its values are not classes. */
    multiclass: (label: string, view: string, type: string, bool: boolean) =>
      withHint(
        `multiclass classification needs a string or int label (its values are the classes); the label ${label} of view \`${view}\` is ${type}`,
        bool ? "a yes/no label has two classes: use `task binary_classification`" : "for a measured quantity use `task regression`; for classes, label a string column (or `if` … `else` of strings)",
      ),
  }),
  labelLooksBack: entry(4024, "error", "label aggregation that does not look forward", {
    /** `over`: the window as written ("..." when not a duration); `next`: the same to suggest ("7d"). */
    backward: (agg: string, over: string, next: string) =>
      withHint(
        `a label aggregates what happens after its row: \`${agg}(...) over ${over}\` looks back`,
        `write \`over next ${next}\` (rows in (t, t + w]), or make the past a feature`,
      ),
    /** `candidates`: `for` clauses the view's joins suggest (`account(sender)`); the hint names them. */
    noEntity: (where: string, source: string, candidates: readonly string[] = []) =>
      withHint(
        `a forward aggregation reads the rows of the view's entity, and ${where} has none`,
        candidates.length
          ? `declare whose rows it reads: ${candidates.map((c) => `\`view … for ${c} from ${source}\``).join(" or ")}`
          : `declare the entity whose rows it reads and the column holding its key: \`for <entity>(<column>) from ${source}\``,
      ),
    agg: (agg: string, aggs: readonly string[]) =>
      withHint(`\`${agg}\` cannot aggregate forward; a label may use ${aggs.join(", ")}`, didYouMean(agg, aggs)),
  }),
  referenceLeak: entry(4030, "warning", "reference feature can leak (warning)", {
    /** `features`: the features of one reference group the view reads. */
    features: (features: string[], where: string, source: string) =>
      withHint(
        `${features.map((n) => `\`${n}\``).join(", ")} of ${where} ${features.length === 1 ? "comes" : "come"} from reference source \`${source}\`, which has no \`valid_from\`: every training row sees today's value, also rows labelled before it last changed`,
        `if these values change, give \`${source}\` a \`valid_from\` column (and \`valid_to\`) so each row sees the value of its time`,
      ),
  }),
  windowOverReference: entry(4031, "error", "window over reference data", {
    /** `input`: "source `s` is" or "`g` comes from source `s`,". */
    feature: (feature: string, input: string) =>
      withHint(
        `\`${feature}\` is a window over reference data: ${input} reference data, with no event time to look back over`,
        "compute a row value here (e.g. `max_hr = max_hr`), or window over an event source",
      ),
  }),
  retrainRule: entry(4040, "error", "invalid retrain trigger or promotion rule", {
    unknownTrigger: (name: string) => withHint(`unknown retrain trigger \`${name}\`; use drift(psi > …) or live(<metric> > …)`, didYouMean(name, ["drift", "live"])),
    driftMeasure: (name: string) => withHint(`\`drift\` measures psi or ks, not \`${name}\``, didYouMean(name, ["psi", "ks"])),
    driftFalling: (measure: string, value: number) => `drift triggers when a measure grows: write \`drift(${measure} > ${value})\``,
    promoteRule: (name: string) => `\`promote if\` takes \`better(<metric>)\`, not \`${name}\``,
  }),
  liveWithoutLog: entry(4041, "error", "live trigger on a model whose predictions are never logged", {
    model: (model: string) =>
      withHint(
        `model \`${model}\` is not served online, so no prediction is logged and no label can ever be joined with one`,
        `add \`serve ${model} { online }\`, or use \`when drift(...)\` or a \`schedule\``,
      ),
  }),
  malformedSchedule: entry(4042, "error", "malformed schedule", {
    cron: (problem: string) =>
      withHint(`malformed cron line: ${problem}`, 'five fields, minute hour day-of-month month day-of-week, in UTC: "0 3 * * *" is every day at 03:00'),
    notDuration: () => "`schedule every` takes a duration literal such as `6h`",
    tooShort: (text: string) => `\`schedule every ${text}\` is shorter than a minute, the shortest interval \`fti run\` keeps`,
  }),
  notIncremental: entry(4050, "error", "feature group over a stream cannot be computed incrementally", {
    /** A window whose argument reads another window's value (directly or through row features). */
    windowOverWindow: (group: string, feature: string, window: string, source: string) =>
      withHint(
        `\`${feature}\` in feature group \`${group}\` aggregates \`${window}\`, a window: over stream \`${source}\` each event would change \`${window}\` at earlier rows, which the stream does not keep`,
        "aggregate row values only (the input's columns and row features), or compute the group from a source that is not a stream",
      ),
    /** A built-in the feature pipeline alone computes (embed): it has no incremental form. */
    pipelineOnly: (group: string, feature: string, builtin: string, source: string) =>
      withHint(
        `\`${feature}\` in feature group \`${group}\` calls \`${builtin}\`, which only the batch feature pipeline computes: it cannot be updated per event of stream \`${source}\``,
        `compute \`${feature}\` in a group over a source that is not a stream`,
      ),
    /** A reference value looked up in the group (`profile.hr_max`): the stream does not hold reference data. */
    lookup: (group: string, feature: string, lookup: string, source: string) =>
      withHint(
        `\`${feature}\` in feature group \`${group}\` looks up \`${lookup}\`, reference data the stream over \`${source}\` does not hold`,
        `join \`${lookup.split(".")[0]}\` in the view instead (point in time, served online as it is)`,
      ),
    /** A group reading the rows of a streamed group that has windows. */
    inputHasWindows: (group: string, input: string, source: string) =>
      withHint(
        `feature group \`${group}\` reads the rows of \`${input}\`, which has windows over stream \`${source}\`: each event would change \`${input}\` at earlier rows, which the stream does not keep`,
        `read a group of row features (or the source) instead, and compute the windows here`,
      ),
  }),
  streamClause: entry(4051, "error", "stream source without event time or unique key", {
    eventTime: (source: string) =>
      withHint(`stream \`${source}\` has no \`event_time\`: its windows and freshness need the time of each event`, "add `event_time <timestamp field>`; reference data cannot be streamed"),
    unique: (source: string) =>
      withHint(
        `stream \`${source}\` has no \`unique\` field: an event sent again after a lost acknowledgement would count twice`,
        "add `unique <field>`, a field that identifies each event (its de-duplication key), or `unique (a, b)`, fields that do together",
      ),
  }),
  lookupNotReference: entry(4060, "error", "lookup of a group that is not reference data of the entity", {
    eventGroup: (group: string, feature: string, where: string) =>
      withHint(
        `${where} looks up \`${group}.${feature}\`, but \`${group}\` is computed from events: only reference data (a source without event_time) can be looked up in a group`,
        `join \`${group}\` in a view instead (\`features ${group}.${feature}\`), point in time`,
      ),
    /** entity null: the looking-up group is global (no `for`). */
    otherEntity: (group: string, groupEntity: string, where: string, entity: string | null) =>
      withHint(
        `\`${group}\` is reference data of entity \`${groupEntity}\`, and ${where} ${entity === null ? "is global (no `for`): it has no keys to match" : `is computed per \`${entity}\``}: a lookup matches the group's own keys`,
        `look it up in a group of \`${groupEntity}\`, or join it in a view with \`by\``,
      ),
  }),
  reservedName: entry(4080, "error", "a name every JavaScript object has", {
    objectMember: (name: string, what: string) =>
      withHint(
        `\`${name}\` cannot name a ${what}: every JavaScript object already has a member \`${name}\`, which the generated code and the runtime would read instead`,
        `choose another name (\`${name}_\`, or one that says what it holds)`,
      ),
  }),
  internalName: entry(4081, "error", "a name fti keeps for its own columns", {
    prefix: (name: string, what: string, prefix: string) =>
      withHint(`\`${name}\` cannot name a ${what}: names starting with \`${prefix}\` are fti's own columns`, `choose a name that does not start with \`${prefix}\``),
  }),
  globalGroupBy: entry(4070, "error", "`by` on a global feature group", {
    by: (group: string, ref: string) =>
      withHint(
        `feature group \`${group}\` is global (no \`for\`: one series without keys), so there is no key for \`by\` to read`,
        `leave out \`by\` (\`features ${ref}\`): a global group is joined by time only, onto every spine row`,
      ),
  }),
  untimedForward: entry(4071, "error", "forward label over rows without time", {
    label: (agg: string, where: string, source: string) =>
      withHint(
        `\`${agg}(...) over next\` aggregates the rows after each row's time, and the rows of ${where} have no time: source \`${source}\` has no \`event_time\``,
        `label each row by its own columns (\`label y = <expression over the row's columns>\`), or give \`${source}\` an \`event_time\``,
      ),
  }),
  untimedViewClause: entry(4072, "error", "time clause on a view over rows without time", {
    /** `clause`: `ttl 90d` or `as_of inclusive`, as written. */
    clause: (clause: string, where: string, source: string) =>
      withHint(
        `\`${clause}\` says how features are joined by time, and the rows of ${where} have none: source \`${source}\` has no \`event_time\``,
        `leave out \`${clause.split(" ")[0]}\`: each row reads the reference data that holds when the table was read`,
      ),
  }),
  untimedEventJoin: entry(4073, "error", "event features joined onto rows without time", {
    group: (group: string, groupSource: string, where: string, source: string) =>
      withHint(
        `feature group \`${group}\` is computed from events (source \`${groupSource}\`), and the rows of ${where} have no time to join them as of: source \`${source}\` has no \`event_time\``,
        `join reference data only (groups over sources without \`event_time\`), or give \`${source}\` an \`event_time\` so each row sees the events before it`,
      ),
  }),
  untimedSplit: entry(4074, "error", "time split of rows without time", {
    model: (model: string, view: string, source: string) =>
      withHint(
        `model \`${model}\` splits by time, and the rows of view \`${view}\` have none: source \`${source}\` has no \`event_time\``,
        "use `split random(test_fraction: 0.2, seed: 42)` (the default): the same rows are drawn on every run",
      ),
  }),
  untimedLive: entry(4075, "error", "live trigger on rows without time", {
    model: (model: string, view: string, source: string) =>
      withHint(
        `\`when live(...)\` joins model \`${model}\`'s served predictions with labels that arrive later, and the rows of view \`${view}\` have no time to arrive at: source \`${source}\` has no \`event_time\``,
        "use `when drift(...)` or a `schedule`",
      ),
  }),
  untimedOwnRows: entry(4076, "error", "feature group of a table's own rows does not identify a row", {
    /** `keys`: the group's key columns (none: a global group); `unique`: the source's `unique` columns. */
    group: (group: string, keys: readonly string[], where: string, source: string, unique: readonly string[]) =>
      withHint(
        `feature group \`${group}\` computes over \`${source}\`, the rows of ${where}, and ${keys.length === 0 ? "has no key (no `for`)" : `its key (${keys.join(", ")}) does not identify a row (${unique.length ? `\`${source}\` is \`unique (${unique.join(", ")})\`` : `\`${source}\` declares no \`unique\``})`}: rows without time would each read one row the join picks, not their own`,
        `compute values of the row itself with \`on_demand\` over request fields (read from each row), or key the group by the table's id (\`unique id\` and \`for ENTITY\`)`,
      ),
  }),
  embedOutsideGroup: entry(4101, "error", "embedding outside a feature group", {
    /** A built-in computed by the feature pipeline only (embed). */
    in: (name: string, where: string) =>
      withHint(
        `\`${name}\` computes an embedding in the feature pipeline and can only be used in a feature group, not in ${where}`,
        "give the embedding its own feature in a feature group and use that feature",
      ),
  }),
  indexColumn: entry(4102, "error", "index column is not an embedding the index can compute", {
    /** `text`: the column is a string (the hint can embed it). */
    notVector: (index: string, feature: string, type: string, text: boolean) =>
      withHint(
        `index \`${index}\` needs an embedding column (float[N]); \`${feature}\` is ${type}`,
        text ? `add a feature \`${feature}_embedding = embed(${feature}, 256)\` and index that` : "index a float[N] feature computed by `embed(text, N)` or an extern fn of one string",
      ),
    noQueryEmbedding: (index: string, feature: string) =>
      `index \`${index}\` cannot embed a query the way \`${feature}\` was computed: the column must be \`embed(...)\` itself or a call of an extern fn taking one string`,
  }),
  promptName: entry(4103, "error", "unknown name in an agent's prompt", {
    unknown: (name: string, agent: string, known: string[]) => {
      const best = closest(name, known);
      return withHint(
        `unknown name \`{${name}}\` in the prompt of agent \`${agent}\`; it can use ${known.map((n) => `{${n}}`).join(", ")}`,
        best !== undefined && best !== name ? replaceWith(`{${best}}`) : undefined,
      );
    },
    /** A lone `{` or `}`. */
    brace: (problem: "open" | "close", agent: string) =>
      withHint(`${problem === "open" ? "`{` opens no `{name}`" : "`}` closes nothing"} in the prompt of agent \`${agent}\``, "write `{{` and `}}` for literal braces"),
  }),
  agentTool: entry(4104, "error", "agent tool is not a model served online for its entity", {
    notServed: (model: string, where: string) => withHint(`model \`${model}\` is not served online, so ${where} cannot call it`, `add \`serve ${model} { online }\``),
    /** `modelEntity` null: the model's view has no `for ENTITY`. */
    otherEntity: (model: string, modelEntity: string | null, where: string, entity: string) =>
      `model \`${model}\` predicts for ${modelEntity === null ? "no entity (its view has no `for ENTITY`)" : `entity \`${modelEntity}\``}, but ${where} is for \`${entity}\``,
  }),
  oneClass: entry(4082, "error", "multiclass label with one class", {
    /** `why`: "is the constant `\"x\"`" or "reads `colony`, which allows only \"x\" (`in (...)`)". */
    label: (label: string, view: string, why: string) =>
      withHint(`the label ${label} of view \`${view}\` ${why}: a classifier needs at least two classes`, "label a column whose values are the classes to predict"),
  }),
  tooManyClasses: entry(4083, "error", "multiclass label with too many classes", {
    allowed: (label: string, view: string, field: string, count: number, max: number) =>
      withHint(
        `the label ${label} of view \`${view}\` has ${count} classes (\`${field}\` allows ${count} values); multiclass classification takes at most ${max}`,
        "group the values into fewer classes (e.g. with `if` … `else`), or use `task regression` for a quantity",
      ),
  }),
  labelIsKey: entry(4084, "error", "multiclass label is the entity's key", {
    key: (label: string, view: string, key: string) =>
      withHint(
        `the label ${label} of view \`${view}\` is the key column \`${key}\`: each entity would be its own class, and a model never predicts an entity it has not seen`,
        "label the column that holds the class to predict",
      ),
  }),
  labelNullCondition: entry(4090, "warning", "label `if` whose condition can be null (warning)", {
    /** `names`: the nullable columns (or forward aggregations) the condition reads and the label does not test. */
    elseTaken: (label: string, where: string, names: readonly string[]) => {
      const list = names.map((n) => `\`${n}\``).join(", ");
      const columns = names.filter((n) => !n.includes("("));
      const test = columns.length ? columns.map((n) => `is_null(${n})`).join(" or ") : "is_null(…)";
      return withHint(
        `the label \`${label}\` of ${where} takes the \`else\` branch where this condition is null (${list} ${names.length === 1 ? "is" : "are"} nullable): such a row is trained on with the \`else\` value, where a null label would leave it out`,
        `say what those rows are: \`if ${test} then null else …\` leaves them out (or name their class in that branch)`,
      );
    },
  }),  bidiControl: entry(4105, "error", "bidirectional control character in a string or comment", {
    at: (code: number, where: "string" | "comment") =>
      withHint(
        `${where === "string" ? "a string" : "a comment"} holds ${BIDI_NAMES[code] ?? "a bidirectional control"} (U+${code.toString(16).toUpperCase()}) as it is: it reorders how the rest of the line is displayed, so the spec reads differently from what it does`,
        where === "string" ? `write it as an escape, \`\\u{${code.toString(16)}}\`, if the string needs it` : "remove it from the comment",
      ),
  }),
};

/** The Unicode names of the bidirectional controls FTI4105 reports. */
const BIDI_NAMES: Record<number, string> = {
  0x202a: "LEFT-TO-RIGHT EMBEDDING",
  0x202b: "RIGHT-TO-LEFT EMBEDDING",
  0x202c: "POP DIRECTIONAL FORMATTING",
  0x202d: "LEFT-TO-RIGHT OVERRIDE",
  0x202e: "RIGHT-TO-LEFT OVERRIDE",
  0x2066: "LEFT-TO-RIGHT ISOLATE",
  0x2067: "RIGHT-TO-LEFT ISOLATE",
  0x2068: "FIRST STRONG ISOLATE",
  0x2069: "POP DIRECTIONAL ISOLATE",
};

// ------------------------------------------------------------------ 5xxx code generation

const codegen = {
  generatedTypeError: entry(5001, "error", "generated code does not type-check (compiler bug)", {
    at: (file: string, line: number, message: string) =>
      `generated ${file}:${line} does not type-check (this is a bug in fti; please report it): ${message}`,
  }),
  cannotWrite: entry(5002, "error", "cannot write generated code", {
    to: (where: string, detail: string) =>
      withHint(`cannot write the generated code to ${where}/: ${detail}`, "choose another directory with --out, or fix its permissions"),
    notGenerated: (where: string, folder: string) =>
      withHint(
        `will not write the generated code to ${where}/: it holds a folder (${folder}), so it is not a folder of generated code (fti replaces the folder it writes, copying what else it holds)`,
        "choose a new or a generated folder with --out, e.g. generated/<spec>",
      ),
    notOurs: (where: string, file: string) =>
      withHint(
        `will not write the generated code to ${where}/: its ${file} was not written by fti compile (no "// Generated by \`fti compile" first line), and the generated ${file} would replace it`,
        "choose a new or a generated folder with --out, e.g. generated/<spec>, or move that file",
      ),
  }),
};

/** Every diagnostic, by name. */
export const DIAG = { ...syntax, ...names, ...types, ...rules, ...codegen };


/** Every code with its severity and title, in code order (docs/language.md has one heading per entry). */
export const CATALOGUE: readonly EntryInfo[] = Object.values(DIAG)
  .map(({ code, severity, title }) => ({ code, severity, title }))
  .sort((a, b) => a.code - b.code);
