// Text rendering of training statistics for `fti models show`.

import type { ColumnStatistics, TrainingStatistics } from "../statistics/statistics.ts";
import { terminalText } from "../terminal-text.ts";

function num(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return "n/a";
  const a = Math.abs(x);
  return a !== 0 && (a >= 1e6 || a < 1e-3) ? x.toExponential(2) : String(Number(x.toPrecision(4)));
}

const pct = (f: number) => `${Number((f * 100).toPrecision(3))}%`;

function detail(c: ColumnStatistics): string[] {
  if (c.numeric) {
    const n = c.numeric;
    return [num(n.mean), num(n.std), num(n.min), num(n.max), `${n.bins.fractions.length} bins, cuts ${n.bins.edges.map(num).join(" ")}`];
  }
  if (c.categorical) {
    const k = c.categorical;
    const top = k.top.slice(0, 5).map((t) => `${terminalText(t.value)} ${pct(t.fraction)}`);
    const rest = 1 - k.top.slice(0, 5).reduce((s, t) => s + t.fraction, 0);
    return ["", "", "", "", `${k.distinct} distinct: ${top.join(", ")}${rest > 1e-12 ? `, other ${pct(rest)}` : ""}`];
  }
  return ["", "", "", "", "no values"];
}

/** One line per column, aligned, under a header. */
export function formatStatistics(stats: TrainingStatistics): string[] {
  const head = ["column", "type", "count", "null", "mean", "std", "min", "max", "distribution"];
  const rows = [
    ...stats.features.map((c) => ({ c, label: c.name })),
    { c: stats.label, label: "label (train)" },
    { c: stats.predictions, label: "prediction (test)" },
  ].map(({ c, label }) => [label, c.type, String(c.count), pct(c.null_rate), ...detail(c)]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.slice().map((r) => (i === head.length - 1 ? 0 : r[i].length))));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ").trimEnd();
  return [line(head), ...rows.map(line)];
}
