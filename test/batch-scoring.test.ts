// Batch scoring that agrees with training and online serving (issue 10 §6):
// each row scored as of its own time equals a brute-force point-in-time pick
// of the features scored one row at a time; every input column and the row
// number are carried into the output in input order; the rows online serving
// refuses (400: a null or unconvertible key/request field; 422: an unknown or
// stale entity the model cannot impute) are exactly the batch's rejects.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Scalar, SpecBundle } from "../runtime/api.ts";
import { predictBatch } from "../runtime/inference/batch.ts";
import { createPredictor } from "../runtime/inference/predictor.ts";
import { materialize } from "../runtime/online/materialize.ts";
import { OnlineService } from "../runtime/online/service.ts";
import type { ApiErrorBody, OnlinePrediction } from "../runtime/online/types.ts";
import { getModel } from "../runtime/registry/registry.ts";
import { FEATURE_TABLE, USERS, input, model, step, withRequestSchemas } from "./helpers/model-bundles.ts";
import { TOY_MODELS, buildToyStore, toyBundle, type ToyStore } from "./helpers/online-toy.ts";

const DAY = 86_400_000;
const TTL = 20 * DAY;
/** The online clock: some users' latest rows are older than the ttl then. */
const NOW = Date.parse("2026-01-10T00:00:00Z");

let toy: ToyStore;
let bundle: SpecBundle;

beforeAll(async () => {
  // Trees score a row the same alone and in a batch (a linear model's float32 matrix product need not):
  // a gbdt over the ODT compares batch with one-row predictions exactly.
  const base = toyBundle();
  const treeModel = model("toy_request_gbdt", [input("x1"), input("x2"), input("cat", [step("one_hot")]), input("boost", [], "odt")], {
    view: "v_request",
    algorithm: { kind: "gbdt", params: { trees: 20, depth: 3, learning_rate: 0.2, min_leaf: 5, bins: 32, l2: 0 } },
  });
  bundle = withRequestSchemas({ ...base, models: [...base.models, treeModel], views: base.views.map((v) => ({ ...v, ttlMs: TTL })) });
  toy = await buildToyStore({ bundle, train: [...TOY_MODELS, "toy_request_gbdt"] });
  await toy.withStore((store) => materialize(store, bundle));
}, 60_000);

afterAll(() => toy?.cleanup());

/** A seeded generator (tests must be repeatable). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Row = Record<string, unknown>;

function writeNdjson(name: string, rows: Row[]): string {
  const file = join(toy.dir, name);
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  return file;
}

describe("--time-column: each row as of its own time", () => {
  it("equals a brute-force point-in-time pick (strict, ttl) scored one row at a time; missing entities are rejects", async () => {
    const featureRows = await toy.withStore((s) =>
      s.all<{ user_id: string; et: Date; x1: number; x2: number | null; cat: string }>(
        `SELECT user_id, event_time AS et, x1, x2, cat FROM ${FEATURE_TABLE}`,
      ),
    );
    const rand = rng(42);
    const rows: Row[] = [];
    for (let i = 0; i < 120; i++) {
      const user = i % 17 === 0 ? "nobody" : USERS[Math.floor(rand() * USERS.length)];
      const own = featureRows.filter((r) => r.user_id === user);
      // Exactly on a feature row's time (strict: not seen), shortly after one, or anywhere in the year.
      const pick = own.length ? own[Math.floor(rand() * own.length)].et.getTime() : Date.UTC(2025, 5, 1);
      const t = i % 3 === 0 ? pick : i % 3 === 1 ? pick + Math.floor(rand() * 3 * DAY) : Date.UTC(2024, 11, 20) + Math.floor(rand() * 400 * DAY);
      rows.push({ at: new Date(t).toISOString(), user_id: user, amount: 1 + (i % 4), tag: `r${i}` });
    }
    const file = writeNdjson("timed.ndjson", rows);
    const report = await toy.withStore((s) => predictBatch(s, bundle, "toy_request_gbdt", { entitiesFile: file, timeColumn: "at", out: "timed" }));

    const predictor = await toy.withStore(async (s) => createPredictor(bundle, "toy_request_gbdt", await getModel(s, "toy_request_gbdt")));
    const odt = bundle.views.find((v) => v.name === "v_request")!.odts[0];
    const expected: Array<{ row: number; prediction: number | null } | { row: number; rejected: string[] }> = [];
    for (const [i, r] of rows.entries()) {
      const t = Date.parse(r.at as string);
      const usable = featureRows.filter((f) => f.user_id === r.user_id && f.et.getTime() < t && f.et.getTime() >= t - TTL);
      const latest = usable.sort((a, b) => b.et.getTime() - a.et.getTime())[0];
      if (!latest) {
        expected.push({ row: i + 1, rejected: ["cat", "x1", "x2"] });
        continue;
      }
      const features: Record<string, Scalar> = { x1: latest.x1, x2: latest.x2, cat: latest.cat };
      const boost = odt.compute({ amount: r.amount as number }, { x1: latest.x1 });
      const [p] = await predictor.predictRows([{ ...features, boost, amount: r.amount as number }]);
      expected.push({ row: i + 1, prediction: Number.isNaN(p) ? null : p });
    }

    const out = await toy.withStore((s) =>
      s.all<{ row_number: number; at: string | Date; user_id: string; tag: string; as_of: Date; prediction: number | null }>(
        `SELECT row_number, "at", user_id, tag, as_of, prediction FROM timed ORDER BY row_number`,
      ),
    );
    const rejects = await toy.withStore((s) =>
      s.all<{ row_number: number; status: number; fields: string[]; tag: string }>(
        `SELECT row_number, status, fields, tag FROM timed_rejects WHERE model = 'toy_request_gbdt' ORDER BY row_number`,
      ),
    );
    const scored = expected.filter((e): e is { row: number; prediction: number | null } => "prediction" in e);
    const refused = expected.filter((e): e is { row: number; rejected: string[] } => "rejected" in e);
    expect(refused.length).toBeGreaterThan(5);
    expect(scored.length).toBeGreaterThan(60);
    expect(out.map((o) => ({ row: o.row_number, prediction: o.prediction }))).toEqual(scored);
    expect(rejects.map((r) => ({ row: r.row_number, rejected: [...r.fields].sort() }))).toEqual(refused);
    expect(rejects.every((r) => r.status === 422 && r.tag === `r${r.row_number - 1}`)).toBe(true);
    // The input's columns are carried, and as_of is each row's own time.
    for (const o of out) {
      const input = rows[o.row_number - 1];
      expect([new Date(o.at).toISOString(), o.user_id, o.tag, o.as_of.toISOString()]).toEqual([input.at, input.user_id, input.tag, input.at]);
    }
    expect(report).toMatchObject({ rows: scored.length, rejected: { invalid: 0, missingFeatures: refused.length }, timeColumn: "at" });
  });
});

describe("rejects are what online serving refuses", () => {
  it("the same instances: 400 and 422 online are the batch's rejects (same fields), 200 online is the same prediction", async () => {
    const rand = rng(7);
    const rows: Row[] = [];
    for (let i = 0; i < 60; i++) {
      const user = i % 11 === 3 ? `ghost${i}` : i % 13 === 5 ? null : USERS[Math.floor(rand() * USERS.length)];
      const amount = i % 9 === 4 ? null : i % 14 === 6 ? "lots" : 1 + Math.floor(rand() * 5);
      rows.push({ user_id: user, amount, note: `n${i}` });
    }
    const file = writeNdjson("instances.ndjson", rows);
    const svc = await OnlineService.open(bundle, { store: toy.storePath, logs: false, now: () => NOW });
    try {
      for (const model of ["toy_request", "toy_gbdt", "toy_impute"]) {
        const r = await toy.withStore((s) => predictBatch(s, bundle, model, { entitiesFile: file, asOf: new Date(NOW), out: `scores_${model}` }));
        const out = await toy.withStore((s) =>
          s.all<{ row_number: number; note: string; prediction: number | null }>(`SELECT row_number, note, prediction FROM scores_${model} ORDER BY row_number`),
        );
        const rejects = await toy.withStore((s) =>
          s.all<{ row_number: number; status: number; fields: string[]; note: string; reason: string }>(
            `SELECT row_number, status, fields, note, reason FROM scores_${model}_rejects WHERE model = '${model}' ORDER BY row_number`,
          ),
        );
        const needsAmount = model === "toy_request";
        const online: Array<{ row: number; status: number; fields?: string[]; prediction?: number | string | null }> = [];
        // A 422 names the joins without a row, with the key values they looked up, alike online and in batch.
        // (a stale row's join: "no row within the ttl in", since it has one, only an old one)
        const noRow = (text: string) => text.slice(text.search(/; no row (within the ttl )?in /));
        const onlineNoRow: string[] = [];
        for (const [i, row] of rows.entries()) {
          const body = needsAmount ? { user_id: row.user_id, amount: row.amount } : { user_id: row.user_id };
          const a = await svc.predict(model, body);
          if (a.status === 200) online.push({ row: i + 1, status: 200, prediction: (a.body as OnlinePrediction).prediction });
          else online.push({ row: i + 1, status: a.status, fields: onlineFields(a.status, a.body as ApiErrorBody) });
          if (a.status === 422) onlineNoRow.push(noRow((a.body as ApiErrorBody).error.issues![0].message));
        }
        expect(rejects.filter((r) => r.status === 422).map((r) => noRow(r.reason))).toEqual(onlineNoRow);
        // an unknown user has no row; a known one whose rows are all older than the ttl has one
        for (const t of onlineNoRow) expect(t).toMatch(t.includes('"ghost') ? /^; no row in user_stats user_id="ghost\d+"$/ : /^; no row within the ttl in user_stats user_id="u\d+"$/);
        const byBatch = [
          ...out.map((o) => ({ row: o.row_number, status: 200, prediction: o.prediction })),
          ...rejects.map((r) => ({ row: r.row_number, status: r.status, fields: [...r.fields].sort() })),
        ].sort((a, b) => a.row - b.row);
        expect(byBatch).toEqual(online);
        expect(new Set(online.map((o) => o.status))).toEqual(new Set(model === "toy_impute" ? [200, 400] : [200, 400, 422]));
        expect([...out, ...rejects].every((o) => o.note === `n${o.row_number - 1}`)).toBe(true);
        expect(r.rows + r.rejected.invalid + r.rejected.missingFeatures).toBe(rows.length);
      }
    } finally {
      await svc.close();
    }
  });
});

/** The fields an online refusal names: the JSON paths of a 400, the missing features of a 422. */
function onlineFields(status: number, body: ApiErrorBody): string[] {
  const issues = body.error.issues ?? [];
  if (status === 400) return [...new Set(issues.map((i) => String(i.path[i.path.length - 1])))].sort();
  const lists = issues.flatMap((i) => [...i.message.matchAll(/(?:not found|stale \(older than the view's ttl\)): ([\w, ]+)/g)].map((m) => m[1]));
  return lists.flatMap((l) => l.split(", ")).sort();
}

describe("--out", () => {
  it("is a table name or a .parquet file: a path or a .csv was a table of that name in the store, reported as written", async () => {
    for (const out of ["/tmp/scores.csv", "scores.csv", "a b", "../x"]) {
      const run = toy.withStore((s) => predictBatch(s, bundle, "toy_gbdt", { asOf: new Date(NOW), out }));
      await expect(run, out).rejects.toThrow(`--out ${out}: neither a table name`);
    }
    const tables = await toy.withStore((s) => s.all<{ name: string }>("SELECT table_name AS name FROM information_schema.tables"));
    expect(tables.map((t) => t.name).filter((n) => /[./ ]/.test(n))).toEqual([]);
    const ok = await toy.withStore((s) => predictBatch(s, bundle, "toy_gbdt", { asOf: new Date(NOW), out: "main.gbdt_scores" }));
    expect(ok.table).toBe("main.gbdt_scores");
  });
});

describe("an entities file's column names", () => {
  it("spelled as a source's file would (`User ID` for `user_id`): the error's hint names each pair", async () => {
    const file = writeNdjson("spelled.ndjson", [{ "User ID": "u01", Amount: 2 }]);
    const run = toy.withStore((s) => predictBatch(s, bundle, "toy_request", { entitiesFile: file, asOf: new Date(NOW) }));
    const err = (await run.catch((e: unknown) => e)) as Error & { hint?: string };
    expect(err.message).toContain("lacks `user_id`, `amount`");
    expect(err.hint).toBe(
      "the file has `User ID` for `user_id`, `Amount` for `amount`: an entities file's columns are named as the request fields, exactly (a source's snake_case matching does not apply); rename them",
    );
  });
});
