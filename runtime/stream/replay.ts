// `fti replay`: a stream source's last days of rows, sent again to a running
// `fti serve` as live events — the demo of a stream: predictions change with
// the athlete's load as the runs arrive. Each row is sent when its place in
// the replayed span comes up (`speed` × real time), with the time it is sent
// as its event time and a new unique value (`<id>~replay-<start>`), so it is a
// new event, not a duplicate of the stored one.

import type { Scalar, SourcePlan, SpecBundle } from "../api.ts";
import { UserError } from "../errors.ts";
import type { Store } from "../store/store.ts";
import { ident } from "../store/sql.ts";
import { sourceKeyColumns } from "./entity-events.ts";
import { streamUniqueFields } from "./unique-field.ts";
import { redirectAnswer } from "../redirect.ts";

export interface ReplayOptions {
  /** The server, e.g. http://127.0.0.1:8080. */
  url: string;
  source: string;
  /** How much of the end of the source to replay (ms of event time). */
  lastMs: number;
  /** Event time per real time: 3600 replays an hour of runs per second. */
  speed: number;
  token?: string;
  /** Called after each request: events sent so far and the last answer. */
  onProgress?: (p: { sent: number; total: number; replayedTo: string; accepted: number }) => void;
}

export interface ReplayReport {
  source: string;
  total: number;
  accepted: number;
  duplicates: number;
  late: number;
  ms: number;
}

const TICK_MS = 100;

/** The rows to replay: the last `lastMs` of the source's event time, in order. */
async function rowsToReplay(store: Store, plan: SourcePlan, lastMs: number): Promise<Array<Record<string, unknown>>> {
  const table = `src_${plan.name}`;
  if (!(await store.tableExists(table))) throw new UserError(`source \`${plan.name}\` has no rows in the store yet`, "run `fti features` first");
  const t = ident(plan.eventTime!);
  return store.all(
    `SELECT ${plan.fields.map((f) => ident(f.name)).join(", ")} FROM ${ident(table)}
      WHERE ${t} >= (SELECT max(${t}) FROM ${ident(table)}) - to_milliseconds(CAST(? AS BIGINT))
      ORDER BY ${t}, ${streamUniqueFields(plan).map(ident).join(", ")}`,
    [lastMs],
  );
}

export async function replayEvents(store: Store, bundle: SpecBundle, opts: ReplayOptions): Promise<ReplayReport> {
  const plan = bundle.sources.find((s) => s.name === opts.source);
  if (!plan?.stream) {
    const streams = bundle.sources.filter((s) => s.stream).map((s) => s.name);
    throw new UserError(`\`${opts.source}\` is not a stream source of spec \`${bundle.name}\`; streams: ${streams.length ? streams.join(", ") : "none"}`);
  }
  const renamed = replayedField(bundle, plan);
  const rows = await rowsToReplay(store, plan, opts.lastMs);
  const report: ReplayReport = { source: plan.name, total: rows.length, accepted: 0, duplicates: 0, late: 0, ms: 0 };
  if (rows.length === 0) return report;
  const et = plan.eventTime!;
  const t0 = (rows[0][et] as Date).getTime();
  const wall0 = Date.now();
  const suffix = `~replay-${wall0.toString(36)}`;
  let i = 0;
  while (i < rows.length) {
    const elapsed = Date.now() - wall0;
    const batch: Array<Record<string, Scalar>> = [];
    while (i < rows.length && ((rows[i][et] as Date).getTime() - t0) / opts.speed <= elapsed) {
      const r = rows[i++];
      const due = wall0 + ((r[et] as Date).getTime() - t0) / opts.speed;
      batch.push(eventOf(plan, r, new Date(Math.min(due, Date.now())), renamed, suffix));
    }
    if (batch.length) {
      const answer = await send(opts, batch);
      report.accepted += answer.accepted;
      report.duplicates += answer.duplicates;
      report.late += answer.late;
      opts.onProgress?.({ sent: i, total: rows.length, replayedTo: (rows[i - 1][et] as Date).toISOString(), accepted: report.accepted });
    }
    if (i < rows.length) await new Promise((r) => setTimeout(r, TICK_MS));
  }
  report.ms = Date.now() - wall0;
  return report;
}

/**
 * The `unique` field a replayed event gets a new value in (its value + a suffix): the one field, a string; of a
 * combination, its first string field that is neither the event time (replaced by now, and two events may get
 * one instant) nor an entity key of a group over the source (the event would count for another entity).
 */
function replayedField(bundle: SpecBundle, plan: SourcePlan): string {
  const unique = streamUniqueFields(plan);
  const isString = (name: string) => plan.fields.find((f) => f.name === name)?.type === "string";
  if (unique.length === 1) {
    if (!isString(unique[0])) throw new UserError(`\`${plan.name}\`'s unique field \`${unique[0]}\` is not a string: a replayed event cannot be given a new value`);
    return unique[0];
  }
  const keys = new Set(
    bundle.groups.filter((g) => g.input.kind === "source" && g.input.name === plan.name).flatMap((g) => sourceKeyColumns(bundle, g) ?? []),
  );
  const field = unique.find((f) => isString(f) && f !== plan.eventTime && !keys.has(f));
  if (!field) {
    throw new UserError(
      `\`${plan.name}\`'s unique (${unique.join(", ")}) has no string field besides the event time and the entity keys: a replayed event cannot be given a new value`,
    );
  }
  return field;
}

/** A stored row as a live event: sent now, under a new unique value (`renamed` + the replay's suffix). */
function eventOf(plan: SourcePlan, row: Record<string, unknown>, at: Date, renamed: string, suffix: string): Record<string, Scalar> {
  const e: Record<string, Scalar> = {};
  for (const f of plan.fields) {
    const v = row[f.name];
    e[f.name] = v instanceof Date ? v.toISOString() : ((v ?? null) as Scalar);
  }
  e[plan.eventTime!] = at.toISOString();
  e[renamed] = `${String(row[renamed])}${suffix}`;
  return e;
}

async function send(opts: ReplayOptions, batch: unknown[]): Promise<{ accepted: number; duplicates: number; late: number }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let res: Response;
  try {
    // A redirect is not followed: the events (and, to the same origin, the token) would go where the server says.
    res = await fetch(`${opts.url.replace(/\/$/, "")}/v1/sources/${encodeURIComponent(opts.source)}/events`, { method: "POST", headers, body: JSON.stringify(batch), redirect: "manual" });
  } catch (e) {
    throw new UserError(`cannot reach ${opts.url}: ${(e as Error).message}`, "start the server first: `fti serve <spec>`");
  }
  const redirect = await redirectAnswer(res);
  if (redirect) throw new UserError(`${opts.url} ${redirect}; fti replay does not follow redirects (the events would go there)`, "give --url the fti serve that takes the events");
  const body = (await res.json().catch(() => null)) as { accepted: number; duplicates: number; late: number; error?: { message: string } } | null;
  if (res.status !== 200 || !body) throw new UserError(`the server answered ${res.status}: ${body?.error?.message ?? "no JSON body"}`);
  return body;
}
