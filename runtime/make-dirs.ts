// `mkdir -p` without Node's recursive mkdir, which spins for ever (100 % CPU)
// where creating a folder fails with ENOENT under a parent that exists:
// `fti init /proc/x`, `--store /proc/x/s.duckdb` and `--out /proc/x/f.parquet`
// hung (Node 20: mkdirSync(…, {recursive: true}) retries the parent, which
// exists, then the child again). Here each missing folder is made once, from
// the first existing ancestor down, and the first failure is thrown as is.

import { existsSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";

export function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d); ) {
    missing.push(d);
    const parent = dirname(d);
    if (parent === d) break;
    d = parent;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (e) {
      // Made meanwhile by another process (two runs starting at once): fine.
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
  }
}
