// Views over a spine source with groups of several entities, label
// expressions, forward labels and `where` filters, compiled from a spec and
// run end to end, each against a brute-force reference computed from the raw
// rows: seeded random transfers between accounts on an hourly grid (several
// transfers per hour: ties), accounts that only receive (missing keys for the
// sender groups), a ttl, a group and a spine with `where`. Amounts are whole
// numbers, so every sum is exact and rows compare as exact fingerprints.

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCompiledSpec } from "../compiler/cli/load.ts";
import { compileSpec } from "../compiler/compile.ts";
import type { Scalar, SpecBundle } from "../runtime/api.ts";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { predictBatch } from "../runtime/inference/batch.ts";
import { startServer, type RunningServer } from "../runtime/online/http.ts";
import { materialize } from "../runtime/online/materialize.ts";
import { OnlineService } from "../runtime/online/service.ts";
import { verifyModel } from "../runtime/online/verify.ts";
import type { ApiErrorBody, OnlineBatchPrediction, OnlinePrediction } from "../runtime/online/types.ts";
import { joinLabels } from "../runtime/monitor/live.ts";
import { buildTrainingFrame, type TrainingFrame } from "../runtime/retrieval/pit.ts";
import { trainModelFromSpec } from "../runtime/training/train.ts";
import { rng, sqlTime } from "./helpers/bundles.ts";
import { REPO } from "./helpers/online-athlete.ts";
import { columnValues, valueAt } from "../runtime/retrieval/columns.ts";
import { storeUser } from "./helpers/store-user.ts";

const CHROMIUM = "/usr/bin/chromium";
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2025, 2, 1);

const SPEC = `
source transfers {
  path "data/transfers.csv"
  event_time at
  unique transfer_id
  fields {
    transfer_id: string
    sender: string
    receiver: string
    at: timestamp
    amount: float check (>= 0)
    status: string in ("ok", "fraud")
  }
}

entity account { key account_id: string }

feature_group sent_stats for account(sender) from transfers {
  sent_sum_2d = sum(amount) over 2d
  sent_count_1d = count() over 1d
}
feature_group received_stats for account(receiver) from transfers {
  received_max_3d = max(amount) over 3d
}
feature_group large_sent for account(sender) from transfers where amount >= 500 {
  large_count_5d = count() over 5d
}

on_demand transfer_amount(request amount: float): float = amount

view fraud_data from transfers {
  label flagged = status == "fraud"
  features sent_stats.* by sender
  features received_stats.* by receiver
  features sent_stats.sent_sum_2d by receiver as receiver_
  features large_sent.* by sender
  features transfer_amount
  ttl 36h
}

view next_data for account(sender) from transfers where amount > 0 {
  label sent_next_3d = sum(amount) over next 3d
  features sent_stats.*
}

view quiet_data for account(sender) from transfers {
  label quiet_2d = count() over next 2d == 0
  features received_stats.* by receiver
  as_of inclusive
}

model fraud {
  view fraud_data
  task binary_classification
  algorithm gbdt(trees: 10, depth: 3)
  transform sent_sum_2d, sent_count_1d, received_max_3d, receiver_sent_sum_2d, large_count_5d, transfer_amount: impute(median)
  split random(test_fraction: 0.3, seed: 3)
  metric auc
}

// No impute: a request whose receiver (or sender) has no usable row is refused (422 online, a reject in batch).
model fraud_strict {
  view fraud_data
  task binary_classification
  algorithm gbdt(trees: 5, depth: 2)
  split random(test_fraction: 0.3, seed: 3)
  metric auc
}

serve fraud { online }
serve fraud_strict { online }
`;

interface Transfer {
  id: string;
  sender: string;
  receiver: string;
  at: number;
  amount: number;
  status: "ok" | "fraud";
}

/** a0..a9 send and receive; r0..r3 only receive (no sent_stats row ever). */
function makeTransfers(seed: number): Transfer[] {
  const rand = rng(seed);
  const senders = Array.from({ length: 10 }, (_, i) => `a${i}`);
  const receivers = [...senders, "r0", "r1", "r2", "r3"];
  const out: Transfer[] = [];
  for (let i = 0; i < 700; i++) {
    // A sender is active in bursts: gaps longer than the ttl happen.
    const sender = senders[Math.floor(rand() ** 2 * senders.length)];
    out.push({
      id: `t${String(i).padStart(4, "0")}`,
      sender,
      receiver: receivers[Math.floor(rand() * receivers.length)],
      at: T0 + Math.floor(rand() * 20 * 24) * HOUR, // hourly grid: ties
      amount: rand() < 0.05 ? 0 : 1 + Math.floor(rand() * 999),
      status: rand() < 0.2 ? "fraud" : "ok",
    });
  }
  // A rare sender, days apart: empty forward windows and stale rows.
  [1, 6, 12, 17].forEach((d, i) => out.push({ id: `lone${i}`, sender: "lone", receiver: "a0", at: T0 + d * DAY + 5 * HOUR, amount: 100 + i, status: "ok" }));
  return out;
}

/** The time of the latest row of `rows` before t (at t too when inclusive); null when none, or older than the ttl. */
function asOf(rows: Transfer[], t: number, ttl: number | null, inclusive: boolean): number | null {
  let tl = -Infinity;
  for (const r of rows) if ((inclusive ? r.at <= t : r.at < t) && r.at > tl) tl = r.at;
  if (tl === -Infinity || (ttl !== null && tl < t - ttl)) return null;
  return tl;
}

/** A window's value at a row at time tl: over the rows in (tl - w, tl]. */
function windowAt(rows: Transfer[], tl: number | null, w: number, f: (win: Transfer[]) => number): number | null {
  if (tl === null) return null;
  return f(rows.filter((r) => r.at > tl - w && r.at <= tl));
}

const sum = (win: Transfer[]) => win.reduce((s, r) => s + r.amount, 0);
const count = (win: Transfer[]) => win.length;
const max = (win: Transfer[]) => Math.max(...win.map((r) => r.amount));

/** Rows as sorted exact fingerprints: the comparison is order-independent. */
function fingerprints(n: number, row: (i: number) => Scalar[]): string[] {
  return Array.from({ length: n }, (_, i) => JSON.stringify(row(i))).sort();
}

let root: string;
let bundle: SpecBundle;
let transfers: Transfer[];
let storePath: string;
const withStore = storeUser(() => storePath);

beforeAll(async () => {
  root = join(REPO, ".fti", `multi-entity-test-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(join(root, "data"), { recursive: true });
  writeFileSync(join(root, "spec.fti"), SPEC);
  transfers = makeTransfers(11);
  const lines = transfers.map((t) => [t.id, t.sender, t.receiver, sqlTime(t.at), t.amount, t.status].join(","));
  writeFileSync(join(root, "data/transfers.csv"), ["transfer_id,sender,receiver,at,amount,status", ...lines].join("\n") + "\n");
  bundle = await loadCompiledSpec(join(root, "spec.fti"), { outDir: join(root, "generated/spec"), quiet: true });
  storePath = join(root, "store.duckdb");
  await withStore((store) => runFeaturePipeline(store, bundle));
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("a view over a spine source joins each group on its own keys", () => {
  it("matches the brute-force point-in-time reference on every row", async () => {
    const frame: TrainingFrame = await withStore((store) => buildTrainingFrame(store, bundle, "fraud_data"));
    const ttl = 36 * HOUR;
    const bySender = (a: Scalar) => transfers.filter((r) => r.sender === a);
    const byReceiver = (a: Scalar) => transfers.filter((r) => r.receiver === a);
    const reference = transfers.map((r) => {
      const sent = bySender(r.sender);
      const tlSent = asOf(sent, r.at, ttl, false);
      const received = byReceiver(r.receiver);
      const tlReceived = asOf(received, r.at, ttl, false);
      const asSender = bySender(r.receiver);
      const tlAsSender = asOf(asSender, r.at, ttl, false);
      const large = sent.filter((x) => x.amount >= 500);
      const tlLarge = asOf(large, r.at, ttl, false);
      return [
        r.sender, r.receiver, r.at, r.status === "fraud" ? 1 : 0,
        windowAt(sent, tlSent, 2 * DAY, sum), windowAt(sent, tlSent, DAY, count),
        windowAt(received, tlReceived, 3 * DAY, max),
        windowAt(asSender, tlAsSender, 2 * DAY, sum),
        windowAt(large, tlLarge, 5 * DAY, count),
        r.amount,
      ];
    });
    const c = Object.fromEntries(Object.entries(frame.columns).map(([k, v]) => [k, columnValues(v)]));
    const actual = fingerprints(frame.n, (i) => [
      frame.keys.sender[i], frame.keys.receiver[i], frame.time[i], frame.label[i],
      c.sent_sum_2d[i], c.sent_count_1d[i], c.received_max_3d[i], c.receiver_sent_sum_2d[i], c.large_count_5d[i], c.transfer_amount[i],
    ]);
    expect(actual).toEqual(reference.map((r) => JSON.stringify(r)).sort());
    // Row for row in spine order — time, the keys (sender, receiver), label, request field — whatever
    // order the joins run in (pit.ts runs the narrowest first: here not the view's order).
    const spineKey = (r: Scalar[]) => [r[2], r[0], r[1], r[3], r[9]] as Array<string | number>;
    const bySpine = (a: Scalar[], b: Scalar[]) => {
      const x = spineKey(a);
      const y = spineKey(b);
      for (let k = 0; k < x.length; k++) if (x[k] !== y[k]) return x[k] < y[k] ? -1 : 1;
      return 0;
    };
    const inOrder = Array.from({ length: frame.n }, (_, i) => [
      frame.keys.sender[i], frame.keys.receiver[i], frame.time[i], frame.label[i],
      c.sent_sum_2d[i], c.sent_count_1d[i], c.received_max_3d[i], c.receiver_sent_sum_2d[i], c.large_count_5d[i], c.transfer_amount[i],
    ]);
    expect(inOrder).toEqual([...reference].sort(bySpine));
    // The data exercised what it is meant to: missing keys, stale rows and present values on each join.
    const nulls = (name: string) => c[name].filter((v) => v === null).length;
    expect(nulls("receiver_sent_sum_2d")).toBeGreaterThan(50); // r0..r3 never send
    expect(nulls("receiver_sent_sum_2d")).toBeLessThan(frame.n - 50);
    expect(nulls("large_count_5d")).toBeGreaterThan(nulls("sent_count_1d"));
    expect(Object.keys(frame.featureTimes!)).toEqual(["sent_stats(sender)", "received_stats(receiver)", "sent_stats(receiver)", "large_sent(sender)"]);
  });
});

describe("forward labels", () => {
  const dataEnd = () => Math.max(...transfers.map((t) => t.at));

  it("sum over next 3d of the entity's rows after the spine's where, only where t + 3d is observed", async () => {
    const frame = await withStore((store) => buildTrainingFrame(store, bundle, "next_data"));
    const kept = transfers.filter((t) => t.amount > 0);
    const reference = kept
      .filter((r) => r.at + 3 * DAY <= dataEnd())
      .map((r) => [r.sender, r.at, sum(kept.filter((s) => s.sender === r.sender && s.at > r.at && s.at <= r.at + 3 * DAY))]);
    const actual = fingerprints(frame.n, (i) => [frame.keys.sender[i], frame.time[i], frame.label[i]]);
    expect(actual).toEqual(reference.map((r) => JSON.stringify(r)).sort());
    expect(frame.n).toBeLessThan(kept.length); // the last 3 days have no label
    expect(reference.filter((r) => r[2] === 0).length).toBeGreaterThan(0); // empty windows are 0
  });

  it("a bool label over a forward count, with an inclusive join of another entity's group", async () => {
    const frame = await withStore((store) => buildTrainingFrame(store, bundle, "quiet_data"));
    const reference = transfers
      .filter((r) => r.at + 2 * DAY <= dataEnd())
      .map((r) => {
        const received = transfers.filter((x) => x.receiver === r.receiver);
        const tl = asOf(received, r.at, null, true);
        const quiet = transfers.every((s) => !(s.sender === r.sender && s.at > r.at && s.at <= r.at + 2 * DAY));
        return [r.sender, r.receiver, r.at, quiet ? 1 : 0, windowAt(received, tl, 3 * DAY, max)];
      });
    const actual = fingerprints(frame.n, (i) => [frame.keys.sender[i], frame.keys.receiver[i], frame.time[i], frame.label[i], valueAt(frame.columns.received_max_3d, i)]);
    expect(actual).toEqual(reference.map((r) => JSON.stringify(r)).sort());
    const positives = reference.filter((r) => r[3] === 1).length;
    expect(positives).toBeGreaterThan(0);
    expect(positives).toBeLessThan(reference.length);
  });
});

describe("live labels of a forward label (monitoring)", () => {
  it("a served prediction's label is the forward label of the first matching row at or after it, once that row's window is observed", async () => {
    const view = bundle.views.find((v) => v.name === "next_data")!;
    const kept = transfers.filter((t) => t.amount > 0);
    const dataEnd = Math.max(...transfers.map((t) => t.at));
    const rand = rng(5);
    const senders = ["a0", "a1", "a2", "a5", "lone", "r0"];
    const preds = Array.from({ length: 300 }, () => ({ sender: senders[Math.floor(rand() * senders.length)], t: T0 + Math.floor(rand() * 21 * 24 * 4) * (HOUR / 4) }));
    const horizon = 2 * DAY;
    const reference = (until: number) =>
      preds.map(({ sender, t }) => {
        const labelled = kept
          .filter((r) => r.sender === sender && r.at >= t && r.at < t + horizon && r.at < until && r.at + 3 * DAY <= dataEnd && r.at + 3 * DAY < until)
          .map((r) => ({ at: r.at, y: sum(kept.filter((x) => x.sender === sender && x.at > r.at && x.at <= r.at + 3 * DAY)) }))
          .sort((a, b) => a.at - b.at || a.y - b.y);
        return labelled.length ? labelled[0].y : NaN;
      });
    const logged = { ts: preds.map((p) => p.t), request: { sender: preds.map((p) => p.sender) } };
    for (const until of [undefined, T0 + 12 * DAY]) {
      const labels = await withStore((store) => joinLabels(store, view, logged, horizon, until === undefined ? undefined : new Date(until)));
      const expected = reference(until ?? Infinity);
      expect(Array.from(labels as Float64Array)).toEqual(expected);
      expect(expected.filter(Number.isFinite).length).toBeGreaterThan(20);
      expect(expected.filter((y) => !Number.isFinite(y)).length).toBeGreaterThan(20);
    }
  });
});

describe("online serving of a multi-entity model", () => {
  const NOW = Date.UTC(2025, 2, 21, 6); // a few hours after the data: some accounts fresh, others stale (ttl 36h)
  const pairs: Array<{ sender: string; receiver: string; amount: number }> = [];
  for (const s of ["a0", "a1", "a2", "a5", "a9", "nobody"]) {
    for (const r of ["a0", "a3", "a7", "r0", "r2", "ghost"]) pairs.push({ sender: s, receiver: r, amount: 10 + pairs.length * 7 });
  }

  beforeAll(async () => {
    await withStore(async (store) => {
      await trainModelFromSpec(store, bundle, "fraud");
      await trainModelFromSpec(store, bundle, "fraud_strict");
      await materialize(store, bundle, { now: new Date(NOW) });
    });
  });

  it("asks for every mapped spine column and the ODT request fields; statuses are per join", async () => {
    const svc = await OnlineService.open(bundle, { store: storePath, logs: false, now: () => NOW });
    try {
      expect(svc.models()[0].request.map((f) => `${f.name}:${f.kind}`)).toEqual(["sender:key", "receiver:key", "amount:request"]);
      const missing = await svc.predict("fraud", { sender: "a0", amount: 5 });
      expect(missing.status).toBe(400);
      const res = await svc.predict("fraud", { sender: "a1", receiver: "r0", amount: 5 });
      expect(res.status).toBe(200);
      const body = res.body as OnlinePrediction;
      // r0 never sends: its sent_stats join is not found, while the sender's and its received_stats are looked up.
      expect(body.features.receiver_sent_sum_2d.status).toBe("not_found");
      expect(body.feature_times["sent_stats(receiver)"]).toBeNull();
      expect(body.features.received_max_3d.status).not.toBe("not_found");
      expect(body.features.sent_sum_2d.status).not.toBe("not_found");
      expect(Object.keys(body.feature_times)).toEqual(["sent_stats(sender)", "received_stats(receiver)", "sent_stats(receiver)", "large_sent(sender)"]);
    } finally {
      await svc.close();
    }
  });

  it("served predictions and features equal batch inference for the same inputs", async () => {
    const entities = join(root, "entities.ndjson");
    writeFileSync(entities, pairs.map((p) => JSON.stringify(p)).join("\n") + "\n");
    const rows = await withStore(async (store) => {
      await predictBatch(store, bundle, "fraud", { asOf: new Date(NOW), entitiesFile: entities });
      return store.all<{ sender: string; receiver: string; prediction: number }>(`SELECT sender, receiver, prediction FROM predictions.fraud`);
    });
    expect(rows).toHaveLength(pairs.length);
    const svc = await OnlineService.open(bundle, { store: storePath, logs: false, now: () => NOW });
    try {
      const res = await svc.predict("fraud", { instances: pairs });
      expect(res.status).toBe(200);
      const served = (res.body as OnlineBatchPrediction).predictions;
      const batch = new Map(rows.map((r) => [`${r.sender}|${r.receiver}`, r.prediction]));
      pairs.forEach((p, i) => expect(served[i].prediction, `${p.sender} → ${p.receiver}`).toBe(batch.get(`${p.sender}|${p.receiver}`)));
      const statuses = new Set(served.flatMap((s) => Object.values(s.features).map((f) => f.status)));
      expect([...statuses].sort()).toEqual(["not_found", "present", "stale"]);
    } finally {
      await svc.close();
    }
  });

  it("without impute: online refuses exactly the rows batch rejects, naming the same features; the 422 names the join", async () => {
    const entities = join(root, "entities-strict.ndjson");
    writeFileSync(entities, pairs.map((p) => JSON.stringify(p)).join("\n") + "\n");
    const { predicted, rejected } = await withStore(async (store) => {
      await predictBatch(store, bundle, "fraud_strict", { asOf: new Date(NOW), entitiesFile: entities, out: "strict_scores" });
      return {
        predicted: await store.all<{ row_number: number; prediction: number }>(`SELECT row_number, prediction FROM strict_scores`),
        rejected: await store.all<{ row_number: number; status: number; fields: string[]; reason: string }>(`SELECT row_number, status, fields, reason FROM strict_scores_rejects`),
      };
    });
    const svc = await OnlineService.open(bundle, { store: storePath, logs: false, now: () => NOW });
    try {
      const online = await Promise.all(pairs.map((p) => svc.predict("fraud_strict", p)));
      const refused = online.flatMap((a, i) => (a.status === 422 ? [i + 1] : []));
      expect(refused.length).toBeGreaterThan(0);
      expect(refused.length).toBeLessThan(pairs.length);
      expect(rejected.map((r) => Number(r.row_number)).sort((a, b) => a - b)).toEqual(refused);
      expect(predicted.length + rejected.length).toBe(pairs.length);
      for (const r of rejected) {
        const answer = online[Number(r.row_number) - 1].body as { error: { message: string } };
        const named = [...answer.error.message.matchAll(/(?:not found|stale \(older than the view's ttl\)): ([\w, ]+)/g)].flatMap((m) => m[1].split(", "));
        expect([...r.fields].sort()).toEqual(named.sort());
      }
      const ghost = online[pairs.findIndex((p) => p.receiver === "ghost" && p.sender === "a1")].body as { error: { message: string } };
      expect(ghost.error.message).toMatch(/no row in .*received_stats\(receiver\) receiver="ghost"/);
      // the intro names the keys of the joins that found nothing: the known sender is not "without features"
      expect(ghost.error.message).toMatch(/; no online features for receiver="ghost"; /);
      const ghostRow = rejected.find((r) => Number(r.row_number) === pairs.findIndex((p) => p.receiver === "ghost" && p.sender === "a1") + 1);
      expect(String(ghostRow?.reason)).toMatch(/^no features for receiver="ghost" as of /);
      for (const [i, a] of online.entries()) {
        if (a.status !== 200) continue;
        const p = predicted.find((x) => Number(x.row_number) === i + 1);
        expect((a.body as OnlinePrediction).prediction, `row ${i + 1}`).toBe(p?.prediction);
      }
    } finally {
      await svc.close();
    }
  });

  it("a request field that fails its source's check: online 400 at the field, batch reject with the same field and check", async () => {
    // amount: float check (>= 0). Negative amounts fail the check; "lots" and null fail the type (checked first, as zod does).
    const amounts: unknown[] = [-5, 12, -0.5, 0, "lots", null, 7, -1e9, 3.5];
    const rows = amounts.map((amount, i) => ({ sender: ["a0", "a1", "a2"][i % 3], receiver: ["a3", "a7"][i % 2], amount }));
    const entities = join(root, "entities-checked.ndjson");
    writeFileSync(entities, rows.map((p) => JSON.stringify(p)).join("\n") + "\n");
    const { report, predicted, rejected } = await withStore(async (store) => {
      const report = await predictBatch(store, bundle, "fraud", { asOf: new Date(NOW), entitiesFile: entities, out: "checked_scores" });
      return {
        report,
        predicted: await store.all<{ row_number: number; prediction: number }>(`SELECT row_number, prediction FROM checked_scores`),
        rejected: await store.all<{ row_number: number; status: number; code: string; reason: string; fields: string[] }>(
          `SELECT row_number, status, code, reason, fields FROM checked_scores_rejects WHERE model = 'fraud'`,
        ),
      };
    });
    const svc = await OnlineService.open(bundle, { store: storePath, logs: false, now: () => NOW });
    try {
      const online = await Promise.all(rows.map((r) => svc.predict("fraud", r)));
      const byOnline = online.map((a, i) =>
        a.status === 200
          ? { row: i + 1, status: 200, prediction: (a.body as OnlinePrediction).prediction }
          : { row: i + 1, status: a.status, fields: (a.body as ApiErrorBody).error.issues!.map((x) => String(x.path.at(-1))) },
      );
      const byBatch = [
        ...predicted.map((p) => ({ row: Number(p.row_number), status: 200, prediction: p.prediction })),
        ...rejected.map((r) => ({ row: Number(r.row_number), status: r.status, fields: [...r.fields] })),
      ].sort((a, b) => a.row - b.row);
      expect(byBatch).toEqual(byOnline);
      // The three negative amounts are refused by the check, the other two refusals by the type.
      const byCheck = rejected.filter((r) => /check \(>= 0\) failed/.test(r.reason)).map((r) => Number(r.row_number));
      expect(byCheck.sort((a, b) => a - b)).toEqual([1, 3, 8]);
      for (const row of byCheck) {
        const issue = (online[row - 1].body as ApiErrorBody).error.issues![0];
        expect(issue.message).toMatch(/^check \(>= 0\) failed: source `transfers` quarantines such rows/);
      }
      expect(rejected.every((r) => r.status === 400 && r.code === "invalid_request")).toBe(true);
      expect(report.rejected.invalid).toBe(5);
      expect(report.rows).toBe(4);
    } finally {
      await svc.close();
    }
  });

  it("fti verify recomputes every served feature of every join, prefixed ones included", async () => {
    const logs = join(root, "logs");
    const svc = await OnlineService.open(bundle, { store: storePath, logs, now: () => NOW });
    try {
      expect((await svc.predict("fraud", { instances: pairs })).status).toBe(200);
    } finally {
      await svc.close();
    }
    const report = await withStore((store) => verifyModel(store, bundle, "fraud", { logsDir: logs }));
    expect(report.requests).toBe(pairs.length);
    expect(report.features.map((f) => f.name)).toEqual(["sent_sum_2d", "sent_count_1d", "received_max_3d", "receiver_sent_sum_2d", "large_count_5d", "transfer_amount"]);
    for (const f of report.features) expect(f.compared, f.name).toBe(pairs.length);
    expect(report.mismatches).toBe(0);
    expect(report.features.find((f) => f.name === "receiver_sent_sum_2d")!.statuses).toMatchObject({ not_found: expect.any(Number) });
  });
});

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)("the prediction page of a two-entity model, in Chromium", () => {
  const NOW = Date.UTC(2025, 2, 21, 6);
  let server: RunningServer | undefined;
  let context: BrowserContext | undefined;
  let profile: string | undefined;

  beforeAll(async () => {
    // Its own versions (the block above trains too, when it runs): this block runs alone with -t.
    await withStore(async (store) => {
      await trainModelFromSpec(store, bundle, "fraud");
      await trainModelFromSpec(store, bundle, "fraud_strict");
      await materialize(store, bundle, { now: new Date(NOW) });
    });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await server?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it("asks for both keys, shows the API's prediction with statuses per join, and a 422 naming the receiver's join", async () => {
    server = await startServer(bundle, { port: 0, store: storePath, logs: false, now: () => NOW });
    profile = mkdtempSync(join(tmpdir(), "fti-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(server.url + "/models/fraud");
    expect(await page.locator("label[for=f-sender]").textContent()).toContain("string · entity key");
    expect(await page.locator("label[for=f-receiver]").textContent()).toContain("string · entity key");
    expect(await page.locator("label[for=f-amount]").textContent()).toContain("float · request field");

    await page.fill("#f-sender", "a1");
    await page.fill("#f-receiver", "r0");
    await page.fill("#f-amount", "25");
    await page.click("#submit");
    await page.locator("#result").waitFor({ state: "visible" });
    const res = await fetch(`${server.url}/v1/models/fraud/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ sender: "a1", receiver: "r0", amount: 25 }) });
    const expected = (await res.json()) as OnlinePrediction;
    expect(Number(await page.locator("#prediction").getAttribute("data-value"))).toBe(expected.prediction);
    // r0 never sends: the receiver's sent_stats join is not found, the sender's joins are looked up.
    const status = (f: string) => page.locator(`#features tr[data-feature="${f}"] .badge`).textContent();
    const shown = (s: string) => s.replace("_", " "); // the page's badge says "not found"
    expect(await status("receiver_sent_sum_2d")).toBe("not found");
    expect(await status("receiver_sent_sum_2d")).toBe(shown(expected.features.receiver_sent_sum_2d.status));
    for (const f of ["sent_sum_2d", "sent_count_1d", "received_max_3d", "large_count_5d"]) expect(await status(f), f).toBe(shown(expected.features[f].status));
    expect(expected.features.sent_sum_2d.status).not.toBe("not_found");

    await page.goto(server.url + "/models/fraud_strict");
    await page.fill("#f-sender", "a1");
    await page.fill("#f-receiver", "ghost");
    await page.fill("#f-amount", "25");
    await page.click("#submit");
    await page.locator("#error").waitFor({ state: "visible" });
    expect(await page.locator("#error").textContent()).toMatch(/^Error 422: .*received_stats\(receiver\) receiver="ghost"/);
  }, 120_000);
});

describe("names the spine and the group tables keep for themselves", () => {
  const codesOf = async (name: string, spec: string) => {
    const file = join(root, `${name}.fti`);
    writeFileSync(file, spec);
    const r = await compileSpec(file, { outDir: join(root, `${name}-out`) });
    return r.diagnostics.map((d) => `FTI${d.code}`);
  };

  it("a group feature named like its table's key (the entity's, not the input column's) is FTI2011", async () => {
    const spec = SPEC.replace("sent_count_1d = count() over 1d", "sent_count_1d = count() over 1d\n  account_id = 1");
    expect(await codesOf("key-names", spec)).toEqual(["FTI2011"]);
  });

  it("a forward label in a view without an entity is FTI4024, whose hint names the `for` clauses the view's joins suggest", async () => {
    const spec = SPEC.replace("view next_data for account(sender) from transfers where amount > 0 {", "view next_data from transfers where amount > 0 {")
      .replace("  label sent_next_3d = sum(amount) over next 3d\n  features sent_stats.*\n", "  label sent_next_3d = sum(amount) over next 3d\n  features sent_stats.* by sender\n  features received_stats.* by receiver\n");
    const file = join(root, "no-entity.fti");
    writeFileSync(file, spec);
    const r = await compileSpec(file, { outDir: join(root, "no-entity-out") });
    expect(r.diagnostics.map((d) => [d.code, d.hint])).toEqual([
      [4024, "declare whose rows it reads: `view … for account(sender) from transfers` or `view … for account(receiver) from transfers`"],
    ]);
  });

  it("a view feature named like a spine column the view reads is FTI4022", async () => {
    const spec = SPEC.replace("feature_group large_sent", "feature_group peer for account(sender) from transfers {\n  er = count() over 1d\n}\nfeature_group large_sent")
      .replace("  features transfer_amount\n", "  features transfer_amount\n  features peer.er by sender as receiv\n");
    expect(await codesOf("spine-names", spec)).toEqual(["FTI4022"]);
  });
});
