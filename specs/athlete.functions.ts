// TypeScript feature functions for specs/athlete.fti (`extern fn`). The
// compiler checks these signatures against the spec's declarations; the
// feature pipeline runs them inside DuckDB as scalar functions.

/** Heart-rate zone 1–5 from the share of the athlete's max HR; null when no strap was worn. */
export function hr_zone(avg_hr: number | null, max_hr: number): number | null {
  if (avg_hr === null || !(max_hr > 0)) return null;
  const share = avg_hr / max_hr;
  if (share < 0.6) return 1;
  if (share < 0.7) return 2;
  if (share < 0.8) return 3;
  if (share < 0.9) return 4;
  return 5;
}
