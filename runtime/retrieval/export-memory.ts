// The export's memory cap (`fti training-data --memory-limit`), in a leaf so
// the CLI can show and check it without loading DuckDB.

/**
 * What the export lets DuckDB hold by default. What the COPY holds is the
 * ASOF join's two sides and the final sort into spine order; DuckDB spills
 * both to its temp directory past memory_limit, so the export runs in
 * bounded memory whatever the spine's size. Measured at 3 M event rows
 * (docs/benchmarks.md, seventh session, load ~4): peak RSS ~1.27 GB and
 * ~5.0 s of CPU with the bench's 3 GB limit, ~840 MB and ~7.3 s with 640 MB
 * (the spill's price).
 */
export const EXPORT_MEMORY_LIMIT = "640MB";

/** The lowest cap `--memory-limit` takes: below it DuckDB cannot hold the join's and the sort's working blocks. */
export const MIN_EXPORT_MEMORY = 64e6;
