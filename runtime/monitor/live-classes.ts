// Live performance of a multiclass model: each logged prediction's class
// probabilities (its answer's `probabilities`, keyed by its version's classes
// in order) against the label that arrived. The window's class list is the
// union of the logged versions' classes, in first-seen order: a row's
// probabilities over it are 0 for a class its version did not have, and a
// label outside it is -1 (a miss), as on the test split (learners/metrics.ts).

import type { LiveLabels } from "./live.ts";
import type { ServedWindow } from "./served.ts";

/** Truths (class indices) and row-major probabilities over the window's classes, for computeMetrics. */
export function liveClassMetrics(served: ServedWindow, labels: LiveLabels): { y: number[]; yHat: number[] } {
  const index = new Map<string, number>();
  const rows: Array<{ label: string; probs: Record<string, number> }> = [];
  served.ids.forEach((id, k) => {
    const probs = served.probabilities[k];
    const label = labels[id];
    if (probs === null || probs === undefined || label === null || (typeof label === "number" && !Number.isFinite(label))) return;
    for (const c of Object.keys(probs)) if (!index.has(c)) index.set(c, index.size);
    rows.push({ label: String(label), probs });
  });
  const k = index.size;
  const y: number[] = [];
  const yHat = new Array<number>(rows.length * k).fill(0);
  rows.forEach((r, i) => {
    y.push(index.get(r.label) ?? -1);
    for (const [c, p] of Object.entries(r.probs)) yHat[i * k + index.get(c)!] = p;
  });
  return { y, yHat };
}
