// Where the store lives, without loading DuckDB (the CLI needs it to start fast).

import { resolve } from "node:path";

/** Where `openStore()` puts the database by default: `$FTI_STORE`, else `.fti/store.duckdb` under the cwd. */
export function defaultStorePath(): string {
  const env = process.env.FTI_STORE;
  return resolve(env && env.trim() !== "" ? env : ".fti/store.duckdb");
}
