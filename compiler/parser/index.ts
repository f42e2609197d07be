// The parser's public entry point: text -> { program, diagnostics }.
//
//   lex (lexer.ts) -> split into one chunk per top-level declaration
//   -> nesting pre-scan (FTI1007) -> chevrotain parse of the chunk (grammar.ts)
//   -> CST to AST (to-ast.ts)
//
// Each declaration is parsed on its own, so an error never cascades into the
// next one, and at most one FTI1001 is reported per declaration. `parse`
// never throws. See CONTEXT.md.

import type { IRecognitionException, IToken } from "chevrotain";
import { EOF } from "./chevrotain.ts";
import type { Decl, Pos, Program, Range } from "../ast.ts";
import { closest, sortDiagnostics, type Diagnostic } from "../diagnostics.ts";
import { getParser, MAX_NESTING, TooManyErrors, type CstNode } from "./grammar.ts";
import * as T from "./lexer.ts";
import { declarationToAst, type ToAstContext } from "./to-ast.ts";

export interface ParseResult {
  program: Program;
  diagnostics: Diagnostic[];
}

/** Syntax diagnostic codes. */
export const SyntaxCode = {
  Unexpected: 1001,
  UnterminatedString: 1002,
  UnterminatedComment: 1003,
  InvalidCharacter: 1004,
  InvalidEscape: 1005,
  InvalidLiteral: 1006,
  NestingTooDeep: 1007,
  NoDeclarations: 1008,
} as const;

/** At most this many syntax diagnostics per file. */
export const MAX_SYNTAX_DIAGNOSTICS = 100;

export { MAX_NESTING };

// ---------------------------------------------------------------- positions

/** Offset -> line/column; lines end at \r\n, \n or a lone \r (like `splitLines`). */
export class LineMap {
  private readonly starts: number[] = [0];

  constructor(private readonly text: string) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 13) {
        if (text.charCodeAt(i + 1) === 10) i++;
        this.starts.push(i + 1);
      } else if (c === 10) {
        this.starts.push(i + 1);
      }
    }
  }

  pos(offset: number): Pos {
    let o = Number.isFinite(offset) ? Math.trunc(offset) : 0;
    if (o < 0) o = 0;
    if (o > this.text.length) o = this.text.length;
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= o) lo = mid;
      else hi = mid - 1;
    }
    return { offset: o, line: lo + 1, column: o - this.starts[lo] + 1 };
  }

  range(start: number, end: number): Range {
    const s = this.pos(start);
    const e = this.pos(end);
    return e.offset >= s.offset ? { start: s, end: e } : { start: s, end: s };
  }
}

// ---------------------------------------------------------------- chunks

interface Chunk {
  tokens: IToken[];
  /** First token after the chunk (the next declaration's keyword), if any. */
  next: IToken | undefined;
}

const DECL_START = new Set([T.Source, T.Entity, T.Extern, T.FeatureGroup, T.OnDemand, T.Model, T.Serve, T.Index, T.Agent]);

/**
 * Splits the token stream before each declaration keyword. Keywords are
 * reserved, so these can only start a declaration; the exceptions are `fn`
 * after `extern`, and `view`, which is also a model item (`view NAME` inside a
 * model body, while a view declaration is `view NAME for ...`).
 */
function splitDeclarations(tokens: IToken[]): Chunk[] {
  const chunks: Chunk[] = [];
  let start = 0;
  let inModel = false;
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i].tokenType;
    let starts = DECL_START.has(t);
    if (t === T.Fn) starts = tokens[i - 1]?.tokenType !== T.Extern;
    if (t === T.View) {
      starts = !(inModel && depth > 0) || (tokens[i + 1]?.tokenType === T.Identifier && tokens[i + 2]?.tokenType === T.For);
    }
    if (starts) {
      if (i > start) chunks.push({ tokens: tokens.slice(start, i), next: tokens[i] });
      start = i;
      inModel = t === T.Model;
      depth = 0;
    }
    if (t === T.LCurly) depth++;
    else if (t === T.RCurly) depth--;
  }
  if (tokens.length > start) chunks.push({ tokens: tokens.slice(start), next: undefined });
  return chunks;
}

/**
 * Pre-scan for nesting depth: `(` and `[` open a level; every `if` and `over`
 * opens one too, until the `)`/`]`/`,` that ends its enclosing group or a new
 * statement (`=`, `{`, `}` or a non-expression keyword at the top level).
 * Returns the first token that goes past MAX_NESTING.
 */
function findTooDeep(tokens: IToken[]): IToken | undefined {
  const ifsPerLevel: number[] = [0];
  let ifs = 0;
  let prefixRun = 0;
  for (const tok of tokens) {
    const t = tok.tokenType;
    if (t === T.LParen || t === T.LBracket) {
      ifsPerLevel.push(0);
    } else if (t === T.RParen || t === T.RBracket) {
      if (ifsPerLevel.length > 1) ifs -= ifsPerLevel.pop()!;
    } else if (t === T.If || t === T.Over) {
      // `if` nests its branches; `over` nests the window expression after it.
      ifsPerLevel[ifsPerLevel.length - 1]++;
      ifs++;
    } else if (t === T.Comma || t === T.Equals || t === T.LCurly || t === T.RCurly || isStatementKeyword(t)) {
      ifs -= ifsPerLevel[ifsPerLevel.length - 1];
      ifsPerLevel[ifsPerLevel.length - 1] = 0;
    }
    // Runs of prefix operators (`- - - x`, `not not x`) nest too.
    prefixRun = t === T.Minus || t === T.Not ? prefixRun + 1 : 0;
    if (ifsPerLevel.length - 1 + ifs > MAX_NESTING || prefixRun > MAX_NESTING) return tok;
  }
  return undefined;
}

const EXPRESSION_KEYWORDS = new Set([T.If, T.Then, T.Else, T.And, T.Or, T.Not, T.True, T.False, T.Null, T.Over, T.In]);

const STATEMENT_KEYWORDS = new Set([...T.KEYWORDS.values()].filter((k) => !EXPRESSION_KEYWORDS.has(k)));

function isStatementKeyword(t: IToken["tokenType"]): boolean {
  return STATEMENT_KEYWORDS.has(t);
}

// ---------------------------------------------------------------- messages

/** Items a declaration body accepts, for "unexpected X in Y; expected ..." messages. */
const BODY_ITEMS: Record<string, string> = {
  sourceDecl: "path, table, format, event_time, unique, fields",
  fieldsBlock: "a field (`name: type`)",
  entityDecl: "`key`",
  featureGroupDecl: "a feature (`name = expression`)",
  viewDecl: "label, features, ttl, as_of",
  modelDecl: "view, task, algorithm, transform, split, metric, require",
  serveDecl: "online, batch into",
  agentDecl: "llm, context, retrieve, tool, prompt",
};

/** Comma-separated lists: a missing closer reads better as "expected `,` or `)`". */
const LIST_RULES = new Set(["params", "onDemandDecl", "argList", "parenList", "listExpr", "keyClause"]);

const DECLARATION_KEYWORDS = ["source", "entity", "fn", "extern", "feature_group", "on_demand", "view", "model", "serve", "index", "agent"];

/** Keywords that may appear where `expected` is, for "did you mean" hints on misspellings. */
function candidateKeywords(expected: string, rule: string, bodyExpected: boolean): string[] {
  if (expected === "a declaration") return DECLARATION_KEYWORDS;
  const text = bodyExpected ? BODY_ITEMS[rule] ?? "" : expected;
  return [...text.matchAll(/[a-z_]+/g)].map((m) => m[0]).filter((w) => T.KEYWORDS.has(w));
}

function didYouMean(found: IToken | undefined, candidates: string[]): string | undefined {
  if (!found || found.tokenType !== T.Identifier || candidates.length === 0) return undefined;
  const best = closest(found.image, candidates);
  return best && best !== found.image ? `did you mean \`${best}\`?` : undefined;
}

const DECLARATIONS_HINT = "a declaration starts with source, entity, fn, extern fn, feature_group, on_demand, view, model or serve";

function foundText(t: IToken): string {
  if (t.tokenType === EOF) return "end of file";
  if (t.tokenType === T.StringLit) return "string " + T.quoteSource(t.image);
  return T.quoteSource(t.image);
}

function isKeyword(t: IToken): boolean {
  return T.KEYWORDS.get(t.image) === t.tokenType;
}

/** `source activities`, `extern fn hr_zone`, ... for messages; undefined for a chunk that is not a declaration. */
function chunkLabel(tokens: IToken[]): string | undefined {
  const first = tokens[0];
  if (!first || !isKeyword(first)) return undefined;
  let i = 1;
  let kw = first.image;
  if (first.tokenType === T.Extern && tokens[1]?.tokenType === T.Fn) {
    kw = "extern fn";
    i = 2;
  }
  const name = tokens[i];
  return name && name.tokenType === T.Identifier ? `${kw} ${name.image}` : kw;
}

interface SyntaxError {
  /** The parser ran into the end of the declaration's tokens. */
  atEnd: boolean;
  start: number;
  end: number;
  message: string;
  hint?: string;
}

function describeError(e: IRecognitionException, chunk: Chunk): SyntaxError {
  const tokens = chunk.tokens;
  const last = tokens[tokens.length - 1];
  const chunkEnd = last ? last.startOffset + last.image.length : 0;
  const atEnd = !e.token || e.token.tokenType === EOF || !Number.isFinite(e.token.startOffset);
  // At the end of a chunk the parser sees EOF; the user sees the next declaration.
  const found = atEnd ? (chunk.next ? T.quoteSource(chunk.next.image) : "end of file") : foundText(e.token);
  const start = atEnd ? chunkEnd : e.token.startOffset;
  const end = atEnd ? chunkEnd : e.token.startOffset + e.token.image.length;
  const rule = e.context?.ruleStack?.[e.context.ruleStack.length - 1] ?? "";
  const declLabel = chunkLabel(tokens);
  const expected = e.message || "something else";
  const where = declLabel ? ` in \`${declLabel}\`` : "";
  const foundTok = atEnd ? undefined : e.token;
  const err = (message: string, hint?: string): SyntaxError => ({ atEnd, start, end, message, hint });

  if (e.name === "NotAllInputParsedException") {
    return err(
      `unexpected ${found}${declLabel ? ` after the end of \`${declLabel}\`` : ""}`,
      didYouMean(foundTok, DECLARATION_KEYWORDS) ?? DECLARATIONS_HINT,
    );
  }
  if (expected === "a declaration") {
    return err(`expected a declaration but found ${found}`, didYouMean(foundTok, DECLARATION_KEYWORDS) ?? DECLARATIONS_HINT);
  }
  if (e.name === "MismatchedTokenException") {
    if (expected === "`}`" && BODY_ITEMS[rule] !== undefined) {
      const block = rule === "fieldsBlock" ? `\`fields\`${where}` : `\`${declLabel ?? rule}\``;
      if (atEnd) return err(`expected \`}\` to close ${block} but found ${found}`);
      return err(
        `unexpected ${found} in ${block}; expected ${BODY_ITEMS[rule]} or \`}\``,
        didYouMean(foundTok, candidateKeywords(expected, rule, true)),
      );
    }
    if ((expected === "`)`" || expected === "`]`") && LIST_RULES.has(rule)) {
      return err(`expected \`,\` or ${expected} but found ${found}`);
    }
  }
  if (expected === "a name" && !atEnd && isKeyword(e.token)) {
    return err(
      `expected a name but found the keyword ${found}`,
      `${found} is a reserved word and cannot be used as a name`,
    );
  }
  const prev = (e as { previousToken?: IToken }).previousToken;
  const after =
    expected === "an expression" && prev && Number.isFinite(prev.startOffset) && prev.tokenType !== EOF
      ? ` after ${T.quoteSource(prev.image)}`
      : "";
  return err(`expected ${expected}${after} but found ${found}`, didYouMean(foundTok, candidateKeywords(expected, rule, false)));
}

// ---------------------------------------------------------------- parse

/**
 * Whether a lexical problem in this declaration probably caused its syntax
 * error: any problem before the error, or an unterminated string or comment
 * anywhere in the declaration (they swallow the text the parser needed).
 */
function lexicalCause(problems: T.LexProblem[], from: number, errorAt: number, chunkLimit: number): boolean {
  for (let i = from; i < problems.length && problems[i].start < chunkLimit; i++) {
    const p = problems[i];
    if (p.start <= errorAt || p.code === 1002 || p.code === 1003) return true;
  }
  return false;
}

function makeDiag(code: number, file: string, range: Range, message: string, hint?: string, severity: Diagnostic["severity"] = "error"): Diagnostic {
  const d: Diagnostic = { code, severity, file, range, message };
  if (hint) d.hint = hint;
  return d;
}

function parseUnsafe(text: string, file: string): ParseResult {
  const lines = new LineMap(text);
  const diagnostics: Diagnostic[] = [];
  const decls: Decl[] = [];

  const { tokens, problems } = T.lex(text);
  for (const p of problems) diagnostics.push(makeDiag(p.code, file, lines.range(p.start, p.end), p.message, p.hint));

  if (tokens.length === 0) {
    diagnostics.push(
      makeDiag(1008, file, lines.range(0, 0), "the file contains no declarations", DECLARATIONS_HINT, "warning"),
    );
  }

  const parser = getParser();
  const astErrors: Array<{ start: number; end: number; message: string; hint?: string }> = [];
  const ctx: ToAstContext = {
    pos: (o) => lines.pos(o),
    error: (start, end, message, hint) => {
      astErrors.push({ start, end, message, hint });
    },
  };
  let problemIdx = 0;
  for (const chunk of splitDeclarations(tokens)) {
    const chunkStart = chunk.tokens[0].startOffset;
    while (problemIdx < problems.length && problems[problemIdx].start < chunkStart) problemIdx++;
    const chunkLimit = chunk.next?.startOffset ?? Infinity;

    const tooDeep = findTooDeep(chunk.tokens);
    if (tooDeep) {
      diagnostics.push(
        makeDiag(
          1007,
          file,
          lines.range(tooDeep.startOffset, tooDeep.startOffset + tooDeep.image.length),
          `expression nested too deeply (more than ${MAX_NESTING} levels)`,
          "split the expression into smaller functions or features",
        ),
      );
      continue;
    }

    let cst: CstNode | undefined;
    let errors: IRecognitionException[] = [];
    let internal: unknown;
    // Chevrotain reports errors as exceptions; capturing their (unused) stack
    // traces is about half the cost of a syntax error, so turn that off here.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      parser.input = chunk.tokens;
      cst = parser.declaration();
      errors = parser.errors;
    } catch (e) {
      errors = parser.errors;
      if (e instanceof TooManyErrors) cst = e.partial;
      else internal = e;
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
      parser.input = [];
    }

    if (internal !== undefined) {
      const tok = chunk.tokens[0];
      const deep = internal instanceof RangeError;
      diagnostics.push(
        makeDiag(
          deep ? 1007 : 1001,
          file,
          lines.range(tok.startOffset, tok.startOffset + tok.image.length),
          deep
            ? "declaration nested too deeply to parse"
            : `could not parse this declaration (internal error: ${String((internal as Error)?.message ?? internal)})`,
        ),
      );
      continue;
    }

    const first = errors[0];
    let reported = false;
    if (first) {
      reported = true;
      const se = describeError(first, chunk);
      // A lexical error earlier in the same declaration (a dropped character,
      // a string that ate the rest of the line) usually *is* the cause.
      if (!lexicalCause(problems, problemIdx, se.atEnd ? chunkLimit : se.start, chunkLimit)) {
        diagnostics.push(makeDiag(1001, file, lines.range(se.start, se.end), se.message, se.hint));
      }
    }

    if (!cst) continue;
    try {
      astErrors.length = 0;
      const decl = declarationToAst(cst, ctx);
      const astError = astErrors[0];
      if (astError && !reported) {
        reported = true;
        diagnostics.push(makeDiag(1001, file, lines.range(astError.start, astError.end), astError.message, astError.hint));
      }
      if (decl) decls.push(decl);
    } catch (e) {
      // Never expected (the nesting pre-scan bounds recursion); keep going with
      // the other declarations.
      const tok = chunk.tokens[0];
      const deep = e instanceof RangeError;
      if (deep || !reported) {
        diagnostics.push(
          makeDiag(
            deep ? 1007 : 1001,
            file,
            lines.range(tok.startOffset, tok.startOffset + tok.image.length),
            deep
              ? "declaration nested too deeply to parse"
              : `could not read this declaration (internal error: ${String((e as Error)?.message ?? e)})`,
          ),
        );
      }
    }
  }

  return {
    program: { file, decls },
    diagnostics: sortDiagnostics(diagnostics).slice(0, MAX_SYNTAX_DIAGNOSTICS),
  };
}

/**
 * Parses one .fti file. Never throws: syntax problems come back as FTI1xxx
 * diagnostics and the program holds every declaration that could be read.
 */
export function parse(text: string, file: string): ParseResult {
  try {
    return parseUnsafe(typeof text === "string" ? text : String(text), file);
  } catch (e) {
    return {
      program: { file, decls: [] },
      diagnostics: [
        makeDiag(
          1001,
          file,
          { start: { offset: 0, line: 1, column: 1 }, end: { offset: 0, line: 1, column: 1 } },
          `internal parser error: ${String((e as Error)?.message ?? e)}`,
        ),
      ],
    };
  }
}

