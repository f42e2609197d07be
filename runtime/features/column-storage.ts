// How the feature pipeline's tables store their columns. DuckDB compresses
// each column segment with the method that comes out smallest, and to know
// which, it first analyses every candidate method on the segment's data. For
// a string column whose values are all different — a source's `unique`
// column, and a group table's row id, which is that column — a dictionary
// never wins, and the methods that might (FSST) cost the most CPU of the
// write. Such a column is stored uncompressed: no analysis, no compression.
// Measured on 4 M activities (docs/benchmarks.md, "Seventh session: learn"):
// the whole feature pipeline's CPU −19 %, the source table 208 → 303 MB.
// Every other column keeps DuckDB's choice (dictionaries pay on repeated
// strings: keys, categories).

import { ident } from "../store/sql.ts";

/** A column's definition in CREATE TABLE: name and type, and no compression for a unique string column. */
export function columnDefinition(c: { name: string; type: string }, unique: boolean): string {
  const uncompressed = unique && c.type === "VARCHAR";
  return `${ident(c.name)} ${c.type}${uncompressed ? " USING COMPRESSION uncompressed" : ""}`;
}
