// One pass of `fti run` at the orchestrator's clock `now`: the scheduled
// feature pipelines that are due (each over the range since its watermark,
// with the groups it reads), materialize when one wrote rows, then per model
// with a `retrain` block (or served online): monitor, evaluate the triggers,
// and on one train a challenger and promote it only when it is better.
// Every job is recorded in fti_runs (runs.ts); a failing job is recorded and
// the others go on (isolated failure domains).

import type { GroupPlan, ModelPlan, SpecBundle } from "../api.ts";
import { runFeaturePipeline } from "../features/pipeline.ts";
import { monitorModel, DAY_MS, type MonitorReport } from "../monitor/monitor.ts";
import { parseOnlineStore } from "../online/online-store.ts";
import { materialize, type MaterializeReport } from "../online/materialize.ts";
import type { SharedMaterializeReport } from "../online/redis-sync.ts";
import type { Store } from "../store/store.ts";
import { retrainModel } from "./retrain.ts";
import { lastOkClock, runJob, slotDone, type RunRecord } from "./runs.ts";
import { dueSlot, describeSchedule } from "./schedule.ts";
import { evaluateTriggers } from "./triggers.ts";

export interface TickOptions {
  now: Date;
  /** The request log directory (monitoring reads it). */
  logsDir: string;
  /** Monitoring window (default one day). */
  windowMs?: number;
  /** How many windows back each monitor run looks (default 7). */
  lookbackWindows?: number;
  /** The first tick's clock: schedules of models count from it (null on the first tick). */
  firstClock: Date | null;
}

/** The groups a group's pipeline needs: itself and every group upstream of it, in spec order. */
export function withUpstream(bundle: SpecBundle, group: GroupPlan): string[] {
  const need = new Set<string>();
  const visit = (g: GroupPlan) => {
    if (need.has(g.name)) return;
    need.add(g.name);
    const input = g.input.kind === "group" ? bundle.groups.find((x) => x.name === g.input.name) : undefined;
    if (input) visit(input);
  };
  visit(group);
  return bundle.groups.filter((g) => need.has(g.name)).map((g) => g.name);
}

async function featureJobs(store: Store, bundle: SpecBundle, now: Date): Promise<RunRecord[]> {
  const runs: RunRecord[] = [];
  for (const group of bundle.groups) {
    if (!group.schedule) continue;
    const watermark = await lastOkClock(store, "features", group.name);
    if (!dueSlot(group.schedule, watermark, now) || (await slotDone(store, "features", group.name, now))) continue;
    const job = { kind: "features" as const, target: group.name, slot: now, clock: now, trigger: watermark ? describeSchedule(group.schedule) : "first run" };
    runs.push(
      await runJob(store, job, async () => {
        const report = await runFeaturePipeline(store, bundle, { groups: withUpstream(bundle, group), from: watermark ?? undefined, to: now });
        const rows = report.groups.reduce((s, g) => s + g.rows, 0);
        return { rows, detail: { range: report.range, groups: report.groups.map((g) => ({ group: g.group, rows: g.rows })), warnings: report.warnings } };
      }),
    );
  }
  return runs;
}

async function materializeJob(store: Store, bundle: SpecBundle, now: Date): Promise<RunRecord> {
  return runJob(store, { kind: "materialize", target: "", trigger: "features ran", slot: now, clock: now }, async () => {
    // $FTI_ONLINE_STORE names a shared online store (Redis): the run copies what it wrote there too (online/redis-sync.ts).
    const shared = parseOnlineStore(process.env.FTI_ONLINE_STORE);
    const report: MaterializeReport & Partial<SharedMaterializeReport> =
      shared.kind === "redis" ? await (await import("../online/redis-sync.ts")).materializeShared(shared, bundle, { now }, (fn) => fn(store)) : await materialize(store, bundle, { now });
    const copied = report.shared ? { shared: report.shared.groups.map((g) => ({ group: g.group, mode: g.mode, written: g.written })) } : {};
    return { rows: report.groups.reduce((s, g) => s + g.written, 0), detail: { groups: report.groups.map((g) => ({ group: g.group, mode: g.mode, written: g.written })), ...copied } };
  });
}

/** Models `fti run` looks after: those with a retrain block, and those served online. */
export function watchedModels(bundle: SpecBundle): ModelPlan[] {
  return bundle.models.filter((m) => m.retrain || bundle.serves.some((s) => s.model === m.name && s.online));
}

async function modelJobs(store: Store, bundle: SpecBundle, plan: ModelPlan, opts: TickOptions): Promise<RunRecord[]> {
  const { now } = opts;
  const windowMs = opts.windowMs ?? DAY_MS;
  const since = new Date(Math.floor((now.getTime() - (opts.lookbackWindows ?? 7) * windowMs) / windowMs) * windowMs);
  const monitored: { report?: MonitorReport } = {};
  const runs = [
    await runJob(store, { kind: "monitor", target: plan.name, trigger: "tick", slot: now, clock: now }, async () => {
      const report = (monitored.report = await monitorModel(store, bundle, plan.name, { logsDir: opts.logsDir, since, until: now, windowMs }));
      return { rows: report.windows.reduce((s, w) => s + w.requests, 0), detail: { windows: report.windows.length } };
    }),
  ];
  const report = monitored.report;
  if (!plan.retrain || !report) return runs;
  const lastRetrain = (await lastOkClock(store, "retrain", plan.name)) ?? opts.firstClock;
  const trigger = evaluateTriggers(plan.retrain, report, now, lastRetrain);
  if (!trigger || (await slotDone(store, "retrain", plan.name, trigger.slot))) return runs;
  runs.push(
    await runJob(store, { kind: "retrain", target: plan.name, trigger: trigger.reason, slot: trigger.slot, clock: now }, () =>
      retrainModel(store, bundle, plan, now),
    ),
  );
  return runs;
}

/** One pass at `opts.now`; returns the jobs it ran, in order. */
export async function tick(store: Store, bundle: SpecBundle, opts: TickOptions): Promise<RunRecord[]> {
  const runs = await featureJobs(store, bundle, opts.now);
  if (runs.some((r) => r.status === "ok")) runs.push(await materializeJob(store, bundle, opts.now));
  for (const plan of watchedModels(bundle)) runs.push(...(await modelJobs(store, bundle, plan, opts)));
  return runs;
}
