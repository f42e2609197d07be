// Where a spec may read source files from: inside its project. The project
// root is the nearest folder at or above the spec's folder holding `fti.json`,
// `package.json` or `.git` (else the spec's folder itself); `fti.json` may add
// further roots: `{"sourceRoots": ["/srv/data", "../shared"]}` (relative to
// the project root). A path is checked twice: lexically by the checker
// (FTI2015, the path as written), and by the feature pipeline on the real
// path of every file it would read (a symlink or a glob cannot lead outside).

import { existsSync, readFileSync, realpathSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";

const MARKERS = ["fti.json", "package.json", ".git"];

/** The nearest folder at or above `specDir` with a project marker; `specDir` when none. */
export function projectRoot(specDir: string): string {
  let dir = resolve(specDir);
  for (;;) {
    if (MARKERS.some((m) => existsSync(join(dir, m)))) return dir;
    const up = dirname(dir);
    if (up === dir) return resolve(specDir);
    dir = up;
  }
}

/** The project root plus `fti.json`'s `sourceRoots`; an fti.json that cannot be read adds nothing. */
export function sourceRoots(specDir: string): string[] {
  const root = projectRoot(specDir);
  const roots = [root];
  const config = join(root, "fti.json");
  if (!existsSync(config)) return roots;
  try {
    const extra = (JSON.parse(readFileSync(config, "utf8")) as { sourceRoots?: unknown }).sourceRoots;
    if (Array.isArray(extra)) for (const r of extra) if (typeof r === "string" && r) roots.push(resolve(root, r));
  } catch {
    // Not valid JSON: no extra roots (the path check then names the project root only).
  }
  return roots;
}

/**
 * Why the project's `fti.json` adds no source roots though it exists (not JSON, or `sourceRoots` not a list of
 * folder names), or null: said beside FTI2015, whose hint is to list the folder there.
 */
export function sourceRootsProblem(specDir: string): string | null {
  const config = join(projectRoot(specDir), "fti.json");
  if (!existsSync(config)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(config, "utf8"));
  } catch {
    // Neither the path nor the parser's message (it quotes the text): only what is wrong.
    return "the project's fti.json is not valid JSON, so its sourceRoots add nothing: fix it to list the folder there";
  }
  const extra = (parsed as { sourceRoots?: unknown } | null)?.sourceRoots;
  if (extra === undefined || (Array.isArray(extra) && extra.every((r) => typeof r === "string" && r))) return null;
  return 'the sourceRoots of the project\'s fti.json is not a list of folder names (["../data", "/srv/data"]), so it adds nothing';
}

/** `path` lies in `root` (or is it). */
export function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/** The path as written, resolved against the spec's folder (`..` collapsed); null when it leaves every root. */
export function confinedPath(raw: string, specDir: string, roots = sourceRoots(specDir)): { abs: string; inside: boolean; roots: string[] } {
  const abs = resolve(specDir, raw);
  return { abs, inside: roots.some((r) => isInside(abs, r) || isInside(abs, realOr(r))), roots };
}

/** The real path of an existing file (symlinks followed) lies in a root. */
export function realPathInside(file: string, roots: string[]): boolean {
  const real = realOr(file);
  return roots.some((r) => isInside(real, realOr(r)));
}

function realOr(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}
