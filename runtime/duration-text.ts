// A duration in the spec language's own units (`31d`, `6h`, `90m`): for messages and hovers.
// Plain code with no imports: compiler/ may import it (as runtime/catalogue.ts).

/** `ms` in the largest of d, h, m, s that divides it (`31d`, `36h`), else in ms. */
export function formatDuration(ms: number): string {
  const units: Array<[string, number]> = [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000]];
  for (const [u, n] of units) if (ms % n === 0) return `${ms / n}${u}`;
  return `${ms}ms`;
}
