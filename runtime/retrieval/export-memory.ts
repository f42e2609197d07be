// The export's memory cap (`fti training-data --memory-limit`), in a leaf so
// the CLI can show and check it without loading DuckDB.

/**
 * What the export lets DuckDB hold by default. What the COPY holds is the
 * ASOF join's two sides and the final sort into spine order; DuckDB spills
 * both to its temp directory past memory_limit, so the export runs in
 * bounded memory whatever the spine's size. The spill costs CPU: at 3 M
 * event rows (docs/benchmarks.md, eleventh session, load ~10–16) ~5.1–6.5 s
 * of CPU and ~830–880 MB peak RSS with 640 MB, ~4.2–4.5 s and ~910–940 MB with
 * 720 MB (the sort then nearly fits). The process holds ~200 MB beyond
 * DuckDB's cap (node, the bundle, the allocator).
 *
 * 760 MB rather than 720 MB: DuckDB's ordered Parquet writer (1.5) wants 4 MiB
 * per output column per thread, and while the join and the sort hold their
 * memory it gets 1/16 of 80 % of memory_limit — at 720 MB 36 MB, less than the
 * 9 columns of the 3 M-event export need for a second thread, so its threads
 * waited for ~1/4 of the write (blocked 1.2–3.5 s summed over the two
 * threads, against 0.6–1.6 s at 750–760 MB and 0.2–0.7 s at 3 GB:
 * docs/benchmarks.md, "Fourteenth session: export"). 760 MB covers 9 columns
 * (80 MiB a column) at ~40 MB more peak RSS. A wider file gets
 * `exportMemoryFor` its columns, up to a quarter of the machine's memory.
 */
const EXPORT_MEMORY_BYTES = 760e6;
export const EXPORT_MEMORY_LIMIT = `${EXPORT_MEMORY_BYTES / 1e6}MB`;

/** The cap per output column that keeps the ordered writer's two threads going (measured at 9 columns, above). */
const PER_COLUMN_BYTES = 80 * 2 ** 20;

/**
 * The default cap of an export writing `columns` columns: EXPORT_MEMORY_LIMIT,
 * or 80 MiB a column for a wider file (a writer starved of memory is slower,
 * never wrong), but never more than a quarter of `totalBytes` (the machine's
 * memory), so that the export stays bounded next to everything else.
 */
export function exportMemoryFor(columns: number, totalBytes: number): string {
  const wanted = Math.min(columns * PER_COLUMN_BYTES, totalBytes / 4);
  return wanted > EXPORT_MEMORY_BYTES ? `${Math.round(wanted / 1e6)}MB` : EXPORT_MEMORY_LIMIT;
}

/** The lowest cap `--memory-limit` takes: below it DuckDB cannot hold the join's and the sort's working blocks. */
export const MIN_EXPORT_MEMORY = 64e6;
