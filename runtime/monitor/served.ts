// The served request log of a model, reduced while it is read to what `fti
// monitor` measures per window: per model input and for the prediction the
// values as numbers (NaN for null) or categories, the versions that served,
// the age of each served feature row, and, log-wide and column-wise, the
// request times and keys the live label join needs. A parsed entry is dropped
// as soon as it is reduced, so memory grows by a few numbers per request, not
// by the entry (about 2 KB parsed).

import type { ModelPlan, Scalar, ViewPlan } from "../api.ts";
import { scanRequestLog, type ScanLogResult } from "../online/log-read.ts";
import type { RequestLogEntry } from "../online/types.ts";
import { categoryValue, isNumericType, numericValue } from "../statistics/statistics.ts";
import type { LoggedPredictions } from "./live.ts";

export interface ServedWindow {
  /** Scored instances. */
  n: number;
  /** Instances per serving version. */
  versions: Map<number, number>;
  /** Per model input (plan order): numbers (NaN is null) for numeric types, else categories. */
  inputs: Array<number[] | Array<string | null>>;
  /** The predictions (NaN is null); multiclass: NaN, see `classes`. */
  predictions: number[];
  /** Multiclass only: each instance's predicted class (as text) and its probabilities by class (null: none). */
  classes: Array<string | null>;
  probabilities: Array<Record<string, number> | null>;
  /** Each instance's index in the log-wide `live` columns (its label's index). */
  ids: number[];
  /** Per feature group of the view (`groups` order): request time − the served row's event time, seconds. */
  ages: number[][];
}

export interface ServedLog {
  windows: Map<number, ServedWindow>;
  /** The feature groups of the view, the order of `ServedWindow.ages`. */
  groups: string[];
  /** Every instance's request time, entity keys and request fields. */
  live: LoggedPredictions;
  scan: ScanLogResult;
}

/** A model input's value in a log entry: the served feature, or the ODT's value. */
export function inputValue(entry: RequestLogEntry, input: ModelPlan["inputs"][number]): Scalar {
  return (input.from === "odt" ? entry.odts?.[input.name] : entry.features?.[input.name]?.value) ?? null;
}

/** Reads the log of `plan` in `[since, until)`; `windowOf` maps a request time to its window's start. */
export function readServedLog(
  logsDir: string,
  plan: ModelPlan,
  view: ViewPlan,
  range: { since?: Date; until: Date },
  windowOf: (t: number) => number,
): ServedLog {
  const groups = [...new Set(view.features.map((f) => f.group))];
  const match = [...view.keys, ...view.requestFields].map((c) => c.name);
  const numeric = plan.inputs.map((i) => isNumericType(i.type));
  const multiclass = plan.task === "multiclass_classification";
  const live: LoggedPredictions = { ts: [], request: Object.fromEntries(match.map((m) => [m, [] as Scalar[]])) };
  const windows = new Map<number, ServedWindow>();
  const windowAt = (t: number): ServedWindow => {
    const start = windowOf(t);
    let w = windows.get(start);
    if (!w) {
      w = { n: 0, versions: new Map(), inputs: plan.inputs.map(() => []), predictions: [], classes: [], probabilities: [], ids: [], ages: groups.map(() => []) };
      windows.set(start, w);
    }
    return w;
  };
  const scan = scanRequestLog(logsDir, plan.name, range, (e) => {
    const t = Date.parse(e.ts);
    const w = windowAt(t);
    w.n++;
    w.versions.set(e.version, (w.versions.get(e.version) ?? 0) + 1);
    plan.inputs.forEach((input, i) => {
      const v = inputValue(e, input);
      if (numeric[i]) (w.inputs[i] as number[]).push(numericValue(v) ?? NaN);
      else (w.inputs[i] as Array<string | null>).push(categoryValue(v));
    });
    if (multiclass) {
      w.classes.push(categoryValue(e.prediction));
      w.probabilities.push(e.probabilities ?? null);
    }
    w.predictions.push(multiclass ? NaN : (numericValue(e.prediction) ?? NaN));
    groups.forEach((g, k) => {
      const ft = e.feature_times?.[g];
      const rowTime = ft ? Date.parse(ft) : NaN;
      if (Number.isFinite(rowTime)) w.ages[k].push((t - rowTime) / 1000);
    });
    w.ids.push(live.ts.length);
    (live.ts as number[]).push(t);
    for (const m of match) (live.request[m] as Scalar[]).push(e.request?.[m] ?? null);
  });
  return { windows, groups, live, scan };
}
