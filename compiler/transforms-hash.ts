// The hash of a generated transforms.ts: sha256 of its text with the hash
// constant's value blanked (so the hash can live inside the file). The
// emitter stamps it (emit/project.ts); loading a spec checks the file's text
// against it (cli/load.ts), so a hand edit after generation is refused
// before any model is used. No dependencies: the load path imports it.

import crypto from "node:crypto";

const CONSTANT = /export const TRANSFORMS_HASH = "[^"]*";/;

export function transformsHash(text: string): string {
  const blanked = text.replace(CONSTANT, `export const TRANSFORMS_HASH = "";`);
  return "sha256:" + crypto.createHash("sha256").update(blanked).digest("hex");
}

/** The hash a transforms.ts declares, or null when it has none. */
export function declaredTransformsHash(text: string): string | null {
  return /export const TRANSFORMS_HASH = "([^"]*)";/.exec(text)?.[1] ?? null;
}
