// The `.fti` files of a workspace: where the importers of a spec module are
// looked for (cross-file references and rename) and what workspace symbols
// list. A walk of the given roots that skips what is never a spec written by
// hand (dependencies, fti's own folders, hidden folders) and stops at a bound.

import fs from "node:fs";
import path from "node:path";

const SKIPPED = new Set(["node_modules", "generated", "dist", "out"]);
/** More files than a workspace of specs holds: past it, the walk stops (a home folder opened by mistake). */
export const SPEC_FILE_LIMIT = 5000;

/** Every `.fti` file under `roots` (absolute, sorted, each once), symbolic links not followed. */
export function specFiles(roots: readonly string[]): string[] {
  const found = new Set<string>();
  const visited = new Set<string>();
  const walk = (dir: string) => {
    if (visited.has(dir) || found.size >= SPEC_FILE_LIMIT) return;
    visited.add(dir);
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // unreadable: nothing of it is listed
    }
    for (const e of entries) {
      if (found.size >= SPEC_FILE_LIMIT) return;
      const abs = path.join(dir, e.name);
      if (e.isDirectory() && !e.name.startsWith(".") && !SKIPPED.has(e.name)) walk(abs);
      else if (e.isFile() && e.name.endsWith(".fti")) found.add(abs);
    }
  };
  for (const r of roots) walk(path.resolve(r));
  return [...found].sort();
}
