// The runs table of `fti run`, `fti_orchestrator_runs` (the feature pipeline keeps its own log in fti_runs): one row per job `fti run` started (feature
// pipeline, materialize, monitor, retrain) and one per finished tick. A job's
// row is written as `running` before it starts and set to `ok` in the same
// transaction as the job's own writes, so a job is either done and recorded,
// or not done at all: a crash leaves a `running` row (marked `interrupted` on
// the next start) and no data, and the job is due again. Keys: (kind, target,
// slot): a slot (a cron fire time, a watermark, a monitored window) is run
// successfully at most once.

import { newRunId } from "../store/run-log.ts";
import type { Store } from "../store/store.ts";

export const RUNS_TABLE = "fti_orchestrator_runs";

export type RunKind = "features" | "materialize" | "monitor" | "retrain" | "tick";
export type RunStatus = "running" | "ok" | "failed" | "interrupted";

export interface RunRecord {
  run_id: string;
  kind: RunKind;
  /** The group or model (empty for materialize and tick). */
  target: string;
  /** What started it: `schedule`, `watermark`, `drift(psi > 0.25)`, `live(mae > 700)`, `first run`… */
  trigger: string;
  /** The slot the job belongs to (cron fire time, range end, window start); with kind and target, its identity. */
  slot: Date;
  /** The orchestrator's clock when it started (the replayed time under --now/--until). */
  clock: Date;
  started_at: Date;
  ended_at: Date | null;
  status: RunStatus;
  rows: number | null;
  version_from: number | null;
  version_to: number | null;
  /** JSON text: what the job reports (ranges, metrics of champion and challenger, …). */
  detail: string | null;
  error: string | null;
}

const COLUMNS = `run_id VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, target VARCHAR NOT NULL, trigger VARCHAR NOT NULL,
  slot TIMESTAMP NOT NULL, clock TIMESTAMP NOT NULL, started_at TIMESTAMP NOT NULL, ended_at TIMESTAMP,
  status VARCHAR NOT NULL, rows BIGINT, version_from INTEGER, version_to INTEGER, detail JSON, error VARCHAR`;

export async function ensureRunsTable(store: Store): Promise<void> {
  await store.run(`CREATE TABLE IF NOT EXISTS ${RUNS_TABLE} (${COLUMNS})`);
}

/** Marks rows left `running` by a process that died as `interrupted`; returns how many. */
export async function markInterrupted(store: Store, at: Date): Promise<number> {
  await ensureRunsTable(store);
  return store.run(`UPDATE ${RUNS_TABLE} SET status = 'interrupted', ended_at = ? WHERE status = 'running'`, [at]);
}

export interface JobResult {
  rows?: number | null;
  version_from?: number | null;
  version_to?: number | null;
  detail?: unknown;
}

/**
 * Runs one job: its row is inserted as `running`, then `fn` runs inside a
 * transaction that also sets the row to `ok`; a throw rolls the job back and
 * records `failed` with the message. Never throws for the job's own errors.
 */
export async function runJob(
  store: Store,
  job: { kind: RunKind; target: string; trigger: string; slot: Date; clock: Date },
  fn: () => Promise<JobResult>,
): Promise<RunRecord> {
  await ensureRunsTable(store);
  const runId = newRunId(job.kind);
  const started = new Date();
  await store.run(
    `INSERT INTO ${RUNS_TABLE} (run_id, kind, target, trigger, slot, clock, started_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'running')`,
    [runId, job.kind, job.target, job.trigger, job.slot, job.clock, started],
  );
  try {
    await store.transaction(async () => {
      const r = await fn();
      await store.run(
        `UPDATE ${RUNS_TABLE} SET status = 'ok', ended_at = ?, rows = ?, version_from = ?, version_to = ?, detail = ? WHERE run_id = ?`,
        [new Date(), r.rows ?? null, r.version_from ?? null, r.version_to ?? null, r.detail === undefined ? null : JSON.stringify(r.detail), runId],
      );
    });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    await store.run(`UPDATE ${RUNS_TABLE} SET status = 'failed', ended_at = ?, error = ? WHERE run_id = ?`, [new Date(), message, runId]);
  }
  return (await listRuns(store, { runId }))[0];
}

/** True when (kind, target, slot) already ran successfully. */
export async function slotDone(store: Store, kind: RunKind, target: string, slot: Date): Promise<boolean> {
  await ensureRunsTable(store);
  const rows = await store.all(`SELECT 1 FROM ${RUNS_TABLE} WHERE kind = ? AND target = ? AND slot = ? AND status = 'ok' LIMIT 1`, [kind, target, slot]);
  return rows.length > 0;
}

/** The clock of the latest run of a job that finished ok (null when it never did): a feature group's watermark. */
export async function lastOkClock(store: Store, kind: RunKind, target: string): Promise<Date | null> {
  await ensureRunsTable(store);
  const [row] = await store.all<{ s: Date | null }>(`SELECT max(clock) AS s FROM ${RUNS_TABLE} WHERE kind = ? AND target = ? AND status = 'ok'`, [kind, target]);
  return row?.s ?? null;
}

/** The clock of the first tick (null before the first one finished). */
export async function firstTickClock(store: Store): Promise<Date | null> {
  await ensureRunsTable(store);
  const [row] = await store.all<{ s: Date | null }>(`SELECT min(clock) AS s FROM ${RUNS_TABLE} WHERE kind = 'tick' AND status = 'ok'`);
  return row?.s ?? null;
}

/** Runs, newest first. */
export async function listRuns(store: Store, opts: { runId?: string; limit?: number; target?: string } = {}): Promise<RunRecord[]> {
  if (!(await store.tableExists(RUNS_TABLE))) return [];
  const where: string[] = [];
  const params: Array<string | number> = [];
  if (opts.runId) (where.push("run_id = ?"), params.push(opts.runId));
  if (opts.target) (where.push("target = ?"), params.push(opts.target));
  const rows = await store.all<RunRecord>(
    `SELECT run_id, kind, target, trigger, slot, clock, started_at, ended_at, status, rows, version_from, version_to,
            CAST(detail AS VARCHAR) AS detail, error
       FROM ${RUNS_TABLE} ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY clock DESC, started_at DESC, run_id DESC ${opts.limit ? `LIMIT ${Math.max(1, Math.floor(opts.limit))}` : ""}`,
    params,
  );
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return rows.map((r) => ({ ...r, rows: num(r.rows), version_from: num(r.version_from), version_to: num(r.version_to) }));
}
