// The export's memory cap (`fti training-data --memory-limit`), in a leaf so
// the CLI can show and check it without loading DuckDB.

/**
 * What the export lets DuckDB hold by default. What the COPY holds is the
 * ASOF join's two sides and the final sort into spine order; DuckDB spills
 * both to its temp directory past memory_limit, so the export runs in
 * bounded memory whatever the spine's size. The spill costs CPU: at 3 M
 * event rows (docs/benchmarks.md, eleventh session, load ~10–16) ~5.1–6.5 s
 * of CPU and ~830–880 MB peak RSS with 640 MB, ~4.2–4.5 s and ~910–940 MB with
 * 720 MB (the sort then nearly fits), ~3.9–4.3 s and ~950 MB with 768 MB. The
 * process holds ~200 MB beyond DuckDB's cap (node, the bundle, the
 * allocator), so 720 MB keeps that export under 1 GB with room to spare.
 */
export const EXPORT_MEMORY_LIMIT = "720MB";

/** The lowest cap `--memory-limit` takes: below it DuckDB cannot hold the join's and the sort's working blocks. */
export const MIN_EXPORT_MEMORY = 64e6;
