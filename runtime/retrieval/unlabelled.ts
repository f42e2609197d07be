// How many of a view's spine source rows got no label, and why: a spine row whose label is null is
// left out of the training data, silently until this said so. A forward label `avg(rate) over next
// 31d` over monthly rows stamped at local midnight (08:00Z in winter, 07:00Z in summer) finds no row
// in October's window (the next one is 31 days and an hour later): 98 of 1708 rows of vega-datasets'
// unemployment-across-industries vanished, and train printed only the rows it kept.

import type { ViewPlan } from "../api.ts";
import { formatDuration } from "../duration-text.ts";
import type { Store } from "../store/store.ts";
import { forwardObserved, spineSourceRows, spineTimeColumn } from "./pit.ts";

export interface SpineLeftOut {
  /** Source rows that can be spine rows (a time, the view's `where`) minus those labelled. */
  leftOut: number;
  /** Of those, the rows whose forward label window reaches past the data's end. */
  unobserved: number;
  /** The data's end (ISO), for a forward label with data. */
  end: string | null;
}

/** Counts the view's spine candidates left out for want of a label, given how many were labelled (the frame's rows). */
export async function spineLeftOut(store: Store, view: ViewPlan, labelled: number): Promise<SpineLeftOut> {
  const time = spineTimeColumn(view);
  const relation = spineSourceRows(view, time);
  const observed = view.label.forward.length ? await forwardObserved(store, view, time) : null;
  const unobserved = observed ? `count(*) FILTER (WHERE NOT (${observed.complete.join(" AND ")}))` : "0";
  const [c] = await store.all<{ n: number | bigint; unobserved: number | bigint }>(`SELECT count(*) AS n, ${unobserved} AS unobserved FROM (${relation})`);
  const end = observed?.endUs != null ? new Date(Number(observed.endUs / 1000n)).toISOString() : null;
  return { leftOut: Math.max(0, Number(c.n) - labelled), unobserved: Number(c.unobserved), end };
}

/** The line that says so, or null when every row has a label. */
export function leftOutLine(view: ViewPlan, c: SpineLeftOut): string | null {
  if (c.leftOut === 0) return null;
  const source = view.spine.source;
  const nullLabels = c.leftOut - c.unobserved;
  const window = view.label.forward.length ? formatDuration(Math.max(...view.label.forward.map((f) => f.windowMs))) : null;
  const parts = [
    ...(c.unobserved > 0 ? [`${c.unobserved} whose next ${window} reach${c.unobserved === 1 ? "es" : ""} past the data's end${c.end ? ` (${c.end})` : ""}`] : []),
    ...(nullLabels > 0
      ? [`${nullLabels} whose label \`${view.label.name}\` is null${window && /\b(avg|min|max)\s*\(/.test(view.label.text) ? ` (avg, min and max over next ${window} are null when no row of the entity is in that window: is the next row always within ${window}?)` : ""}`]
      : []),
  ];
  return `${c.leftOut} row${c.leftOut === 1 ? "" : "s"} of \`${source}\` left out without a label: ${parts.join("; ")}`;
}
