// Sizes as DuckDB writes and reads them ("3.0 GiB", "640MB", "12"), in bytes.
// A leaf (no DuckDB): the CLI checks a `--memory-limit` with it before the
// store opens, and the export compares limits with it.

const UNITS: Record<string, number> = { b: 1, bytes: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };

/** A size in bytes; null if `text` is not one. */
export function byteSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)?\s*$/i.exec(text);
  if (!m) return null;
  const unit = UNITS[(m[2] ?? "b").toLowerCase()];
  return unit === undefined ? null : Number(m[1]) * unit;
}
