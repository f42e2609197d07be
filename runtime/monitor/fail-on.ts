// `fti monitor --fail-on psi>0.2,mae>700`: thresholds over the measures of
// every window. A measure name matches each stored measure of that name
// (psi and ks: every input and the prediction; mae: the live metric;
// rejected_rate, p50_s/max_s of freshness …); one breach is enough.

import { UsageError } from "../errors.ts";
import type { MonitorReport } from "./monitor.ts";
import { windowMeasures } from "./results.ts";

export interface Threshold {
  measure: string;
  op: ">" | ">=" | "<" | "<=";
  value: number;
}

export interface Breach extends Threshold {
  window: string;
  subject: string;
  actual: number;
}

const OPS = { ">": (a: number, b: number) => a > b, ">=": (a: number, b: number) => a >= b, "<": (a: number, b: number) => a < b, "<=": (a: number, b: number) => a <= b };

/** Parses `psi>0.2,mae>700`; every part is checked, and the errors are reported together. */
export function parseThresholds(text: string): Threshold[] {
  const out: Threshold[] = [];
  const bad: string[] = [];
  for (const part of text.split(",").map((p) => p.trim()).filter(Boolean)) {
    const m = /^([a-z_][a-z0-9_]*)\s*(>=|<=|>|<)\s*(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)$/i.exec(part);
    if (!m) bad.push(part);
    else out.push({ measure: m[1].toLowerCase(), op: m[2] as Threshold["op"], value: Number(m[3]) });
  }
  if (bad.length || out.length === 0) {
    throw new UsageError(
      `--fail-on ${JSON.stringify(text)}: ${bad.length ? `cannot read ${bad.map((b) => `\`${b}\``).join(", ")}` : "no threshold given"}`,
      "write measure, comparison, number, comma-separated: --fail-on psi>0.2,ks>0.1,mae>700,rejected_rate>0.05",
    );
  }
  return out;
}

/** Every (window, subject) whose measure crosses a threshold; live/test metrics only compare the live side. */
export function findBreaches(report: MonitorReport, thresholds: readonly Threshold[]): Breach[] {
  const breaches: Breach[] = [];
  for (const w of report.windows) {
    for (const [subject, measure, actual] of windowMeasures(w)) {
      if (subject === "test") continue;
      for (const t of thresholds) if (t.measure === measure && OPS[t.op](actual, t.value)) breaches.push({ ...t, window: w.start, subject, actual });
    }
  }
  return breaches;
}

/** Measures of every window (docs/monitoring.md); a task's metrics and status_<code> come on top. */
export const MONITOR_MEASURES = [
  "psi", "ks", "ks_p", "null_rate", "null_rate_change", "mean", "count",
  "requests", "rejected", "rejected_rate", "p50_s", "max_s", "labelled",
] as const;

/** A threshold over a measure no window can have is a usage error (a typo would otherwise never fire). */
export function checkMeasures(thresholds: readonly Threshold[], metrics: readonly string[]): void {
  const known = new Set<string>([...MONITOR_MEASURES, ...metrics]);
  const unknown = thresholds.map((t) => t.measure).filter((m) => !known.has(m) && !/^status_\d{3}$/.test(m));
  if (unknown.length) {
    throw new UsageError(
      `--fail-on: unknown measure${unknown.length > 1 ? "s" : ""} ${unknown.map((u) => `\`${u}\``).join(", ")}`,
      `measures: ${[...known].join(", ")}, status_<http status>`,
    );
  }
}
