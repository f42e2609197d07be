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
 * What a model version is tied to: the generated transforms' hash, plus, when
 * ODTs call extern fns, the text of those fns' modules (the module files
 * themselves, not what they import). Recorded at training, compared before a
 * version predicts: an extern module changed since is skew, refused.
 */
export function transformsIdentity(bundle: { transformsHash: string; odtExternFiles?: string[]; file: string }): string {
  const files = bundle.odtExternFiles ?? [];
  if (files.length === 0) return bundle.transformsHash;
  const hash = crypto.createHash("sha256");
  for (const file of files) {
    let text: Buffer;
    try {
      text = fs.readFileSync(file);
    } catch {
      throw new UserError(`${path.relative(process.cwd(), file) || file} is missing (an extern fn module an on_demand of ${bundle.file} calls)`);
    }
    hash.update(path.basename(file) + "\0").update(text).update("\0");
  }
  return `${bundle.transformsHash}+externs:sha256:${hash.digest("hex")}`;
}
