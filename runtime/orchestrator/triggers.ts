// When `fti run` retrains a model: its `retrain` block against the latest
// monitoring report. Drift triggers look at every input, served or batch-scored.
// Drift and live triggers read the latest complete window
// (one that ended by the clock's now) — live ones the latest with at least
// MIN_LIVE_LABELS labelled predictions; the slot of such a retrain is that
// window's start, so one window triggers at most one retrain. The schedule
// counts from the last retrain (else from the first tick of `fti run`).

import type { RetrainPlan } from "../api.ts";
import type { MonitorReport, WindowReport } from "../monitor/monitor.ts";
import { dueSlot, describeSchedule } from "./schedule.ts";

/** Labelled predictions a window needs before its live metric can trigger a retrain. */
export const MIN_LIVE_LABELS = 20;

export interface Trigger {
  reason: string;
  slot: Date;
}

const OPS = { ">": (a: number, b: number) => a > b, ">=": (a: number, b: number) => a >= b, "<": (a: number, b: number) => a < b, "<=": (a: number, b: number) => a <= b };

const fmt = (x: number) => String(Number(x.toPrecision(4)));

function latest(report: MonitorReport, now: Date, ok: (w: WindowReport) => boolean): WindowReport | undefined {
  return report.windows.filter((w) => Date.parse(w.end) <= now.getTime() && ok(w)).at(-1);
}

/** The inputs of a window: served (by name), then batch-scored (`batch <name>`). */
function inputsOf(w: WindowReport): Array<{ label: string; drift: WindowReport["features"][number] }> {
  return [...w.features.map((f) => ({ label: f.name, drift: f })), ...(w.batch?.features ?? []).map((f) => ({ label: `batch ${f.name}`, drift: f }))];
}

function driftTrigger(retrain: RetrainPlan, report: MonitorReport, now: Date): Trigger | null {
  const w = latest(report, now, (x) => x.requests > 0 || (x.batch?.rows ?? 0) > 0);
  if (!w) return null;
  for (const t of retrain.drift) {
    for (const { label, drift } of inputsOf(w)) {
      const v = drift[t.measure];
      if (v !== null && OPS[t.op](v, t.value)) {
        return { reason: `drift(${t.measure} ${t.op} ${t.value}): ${label} ${fmt(v)} in ${w.start.slice(0, 16)}`, slot: new Date(w.start) };
      }
    }
  }
  return null;
}

function liveTrigger(retrain: RetrainPlan, report: MonitorReport, now: Date): Trigger | null {
  const w = latest(report, now, (x) => x.live.labelled >= MIN_LIVE_LABELS);
  if (!w) return null;
  for (const t of retrain.live) {
    const v = w.live.metrics[t.metric];
    if (v !== null && v !== undefined && OPS[t.op](v, t.value)) {
      return { reason: `live(${t.metric} ${t.op} ${t.value}): ${fmt(v)} on ${w.live.labelled} labels in ${w.start.slice(0, 16)}`, slot: new Date(w.start) };
    }
  }
  return null;
}

/** The first trigger that fires (drift, then live, then the schedule), or null. */
export function evaluateTriggers(retrain: RetrainPlan, report: MonitorReport, now: Date, lastRetrain: Date | null): Trigger | null {
  const fired = driftTrigger(retrain, report, now) ?? liveTrigger(retrain, report, now);
  if (fired) return fired;
  if (retrain.schedule && lastRetrain) {
    const slot = dueSlot(retrain.schedule, lastRetrain, now);
    if (slot) return { reason: `schedule ${describeSchedule(retrain.schedule)}`, slot };
  }
  return null;
}
