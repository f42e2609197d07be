// The hash of a generated transforms.ts: sha256 of its code — the text with
// the hash constant's value blanked (so the hash can live inside the file),
// without blank lines and lines that are only a comment. Comments carry the
// spec's hash and line numbers (`— specs/athlete.fti:97`): an edit of the spec
// that leaves the transformation code as it was (a comment, a `serve` block,
// a feature group no model reads) keeps every trained model servable. The
// emitter stamps it (compiler/emit/project.ts); `checkTransformsFile` checks
// a file's text against the hash the loaded code declares, so a hand edit
// after generation is refused before any model is used — by the CLI's spec
// loader and by createPredictor (a program importing generated/<spec>/client.ts
// or index.ts directly goes through it too). No dependencies besides node:.

import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { UserError } from "./errors.ts";

const CONSTANT = /export const TRANSFORMS_HASH = "[^"]*";/;

export function transformsHash(text: string): string {
  const blanked = text.replace(CONSTANT, `export const TRANSFORMS_HASH = "";`);
  const hash = crypto.createHash("sha256");
  for (const line of codeLines(blanked)) hash.update(line + "\n");
  return "sha256:" + hash.digest("hex");
}

/**
 * The lines that are code: not blank, not a `//` line, not in a block comment
 * that starts a line (`/** … *\/`, one line or several, as the emitter writes
 * them). A comment after code on its line stays part of that line.
 */
function* codeLines(text: string): Generator<string> {
  let inBlock = false;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (inBlock) {
      inBlock = !line.includes("*/");
      continue;
    }
    if (line === "" || line.startsWith("//")) continue;
    if (line.startsWith("/*")) {
      const end = line.indexOf("*/", 2);
      if (end < 0) inBlock = true;
      else if (line.slice(end + 2).trim() !== "") yield line.slice(end + 2).trim(); // `/** doc */ export const …`
      continue;
    }
    yield raw.trimEnd();
  }
}

/** The hash a transforms.ts declares, or null when it has none. */
export function declaredTransformsHash(text: string): string | null {
  return /export const TRANSFORMS_HASH = "([^"]*)";/.exec(text)?.[1] ?? null;
}

/**
 * Refuses a transforms.ts whose text no longer has the hash it declares (a
 * hand edit after generation) or, given `expected` (the TRANSFORMS_HASH the
 * process loaded), whose text is not the one that hash belongs to: models were
 * trained with the generated code, and serving them with other code would be
 * skew nobody sees. `specFile` names the spec in the hint.
 */
export function checkTransformsFile(file: string, specFile: string, expected?: string): void {
  const shown = path.relative(process.cwd(), file) || file;
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new UserError(`${shown} is missing (the generated transforms of spec ${specFile})`, `regenerate it: fti compile ${specFile}`);
  }
  const actual = transformsHash(text);
  const declared = declaredTransformsHash(text);
  if (declared === null || actual !== declared || (expected !== undefined && actual !== expected)) {
    throw new UserError(
      `${shown} was changed after it was generated: its text does not match its TRANSFORMS_HASH`,
      `generated code is not edited by hand; regenerate it with \`fti compile ${specFile}\` (change the spec, or an extern fn, instead)`,
    );
  }
}

/**
 * The spec-wide identity: the generated transforms' whole-file hash, plus,
 * when ODTs call extern fns, the text of those fns' modules (the module files
 * themselves, not what they import). Model versions trained before per-model
 * hashes recorded this; they keep serving while it is unchanged.
 */
export function transformsIdentity(bundle: { transformsHash: string; odtExternFiles?: string[]; file: string }): string {
  return withExterns(bundle.transformsHash, bundle.odtExternFiles ?? [], bundle.file);
}

/**
 * What a model version is tied to: the hash of the code of transforms.ts its
 * training and inference run (MODEL_TRANSFORMS_HASHES: its MDT steps and
 * encode, its view's ODTs, the fns they call), plus the text of the extern fn
 * modules those ODTs reach. Recorded at training, compared before a version
 * predicts. A bundle without per-model hashes (built in code) falls back to
 * the spec-wide identity.
 */
export function modelTransformsIdentity(
  bundle: { transformsHash: string; odtExternFiles?: string[]; modelTransformsHashes?: Record<string, string>; modelExternFiles?: Record<string, string[]>; file: string },
  model: string,
): string {
  const hashes = bundle.modelTransformsHashes;
  if (!hashes || !Object.hasOwn(hashes, model)) return transformsIdentity(bundle);
  const own = hashes[model];
  return withExterns(own, bundle.modelExternFiles?.[model] ?? [], bundle.file);
}

/** `code`, followed by `+externs:sha256:…` over the text of `files` when there are any. */
function withExterns(code: string, files: readonly string[], specFile: string): string {
  if (files.length === 0) return code;
  const hash = crypto.createHash("sha256");
  for (const file of files) {
    let text: Buffer;
    try {
      text = fs.readFileSync(file);
    } catch {
      throw new UserError(`${path.relative(process.cwd(), file) || file} is missing (an extern fn module an on_demand of ${specFile} calls)`);
    }
    hash.update(path.basename(file) + "\0").update(text).update("\0");
  }
  return `${code}+externs:sha256:${hash.digest("hex")}`;
}

/** The prefix of a per-model hash: a stored hash without it is a spec-wide one (recorded before per-model hashes). */
export const MODEL_HASH_PREFIX = "model:sha256:";

/** The code of a transforms.ts by top-level declaration, and what its imports bind. */
interface TransformsUnits {
  /** Code lines outside any declaration and import it can read (none, as generated): part of every model's hash. */
  prelude: string[];
  /** Per imported name: the import it comes from, as one line (`name from "module"`). */
  imports: Map<string, string>;
  /** Per declared name: its code lines. */
  declarations: Map<string, string[]>;
}

const DECLARATION = /^(?:export\s+)?(?:declare\s+)?(?:async\s+)?(?:function\*?|const|let|var|class|interface|type|enum)\s+([A-Za-z_$][\w$]*)/;
const IMPORT = /^import\s+(?:type\s+)?(?:\*\s+as\s+([A-Za-z_$][\w$]*)|\{([^}]*)\})\s+from\s+("[^"]*");$/;

/**
 * Splits the code lines of a generated transforms.ts (transformsHash's lines:
 * comments left out) at its top-level declarations: a line at column 0 that
 * declares a name starts one, the lines after it up to the next are its own.
 */
function transformsUnits(text: string): TransformsUnits {
  const units: TransformsUnits = { prelude: [], imports: new Map(), declarations: new Map() };
  let current: string[] = units.prelude;
  for (const line of codeLines(text)) {
    const imported = IMPORT.exec(line);
    if (imported) {
      const names = imported[1] ? [imported[1]] : imported[2].split(",").map((n) => n.trim().replace(/^type\s+/, "").split(/\s+as\s+/).at(-1)!).filter(Boolean);
      for (const name of names) units.imports.set(name, `${name} from ${imported[3]}`);
      current = units.prelude;
      continue;
    }
    const declared = /^\S/.test(line) ? DECLARATION.exec(line) : null;
    if (declared) {
      current = [];
      units.declarations.set(declared[1], current);
    } else if (/^import\b/.test(line)) {
      current = units.prelude; // an import of another shape: kept whole, in every model's hash
    }
    current.push(line);
  }
  return units;
}

/**
 * A model's hash: sha256 of the code lines of the declarations `names` (its
 * steps and encode, its view's ODTs), in file order, with the imports they
 * read (a name counts when its text appears in them) and any other code
 * outside a declaration, plus `extra` (what the text does not show: the
 * fingerprint of the fns the ODTs call, their declared signatures). Given `owned` (the declarations
 * that belong to a model or an ODT, or to none), every other declaration
 * counts too: code the emitter did not attribute is taken as shared. Other
 * models' declarations and ODTs, and imports only they read, do not count:
 * adding or changing them leaves this model's hash as it was.
 */
export function modelTransformsHash(text: string, names: readonly string[], extra = "", owned?: readonly string[]): string {
  return unitsHash(transformsUnits(text), names, extra, owned);
}

/** The same for several models of one file, which is split once: per model, its hash. */
export function modelTransformsHashes(
  text: string,
  units: { models: ReadonlyArray<{ model: string; declarations: readonly string[]; extra: string }>; owned: readonly string[] },
): Map<string, string> {
  const split = transformsUnits(text);
  return new Map(units.models.map((m) => [m.model, unitsHash(split, m.declarations, m.extra, units.owned)]));
}

function unitsHash(units: TransformsUnits, names: readonly string[], extra: string, owned?: readonly string[]): string {
  const wanted = new Set(names);
  for (const name of wanted) if (!units.declarations.has(name)) throw new Error(`modelTransformsHash: transforms.ts declares no \`${name}\``);
  const claimed = owned && new Set(owned);
  const code = [...units.declarations].filter(([name]) => wanted.has(name) || (claimed && !claimed.has(name))).flatMap(([, lines]) => lines);
  const joined = code.join("\n");
  const hash = crypto.createHash("sha256");
  for (const [name, from] of units.imports) if (mentions(joined, name)) hash.update(`import ${from}\n`);
  for (const line of [...units.prelude, ...code]) hash.update(line + "\n");
  hash.update(`extra:${extra}\n`);
  return MODEL_HASH_PREFIX + hash.digest("hex");
}

/** Whether `code` mentions identifier `name` (`$rt` included): not as part of a longer one. */
function mentions(code: string, name: string): boolean {
  const escaped = name.replace(/[$]/g, "\\$");
  return new RegExp(`(?<![\\w$])${escaped}(?![\\w$])`).test(code);
}
