// The online service over HTTP on the toy store: every route, every bad
// input (and the server keeps serving), statuses (not_found, stale, null),
// served = batch predictions, hot swap on promote, materialize against a
// live service, the request log, and `verify` (0 on clean data, > 0 after
// an online value is corrupted).

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openLocalService } from "../runtime/online/public.ts";
import { startServer, type RunningServer } from "../runtime/online/http.ts";
import { readRequestLog } from "../runtime/online/log.ts";
import { materialize } from "../runtime/online/materialize.ts";
import { OnlineService } from "../runtime/online/service.ts";
import type { OnlineBatchPrediction, OnlinePrediction, ApiErrorBody, ServedModelInfo } from "../runtime/online/types.ts";
import { verifyModel } from "../runtime/online/verify.ts";
import { predictBatch } from "../runtime/inference/batch.ts";
import { promote } from "../runtime/registry/registry.ts";
import { trainModelFromSpec } from "../runtime/training/train.ts";
import { FEATURE_TABLE, USERS } from "./helpers/model-bundles.ts";
import { buildToyStore, toyBundle, type ToyStore } from "./helpers/online-toy.ts";

/** The service clock: after every feature row of the toy data. */
const NOW = Date.parse("2026-03-01T00:00:00Z");

let toy: ToyStore;
let server: RunningServer;

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(server.url + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}
const predict = (model: string, body: unknown) => post(`/v1/models/${model}/predict`, body);

async function expectServing() {
  const r = await predict("toy_gbdt", { user_id: "u01" });
  expect(r.status).toBe(200);
  expect(typeof r.body.prediction).toBe("number");
}

beforeAll(async () => {
  toy = await buildToyStore();
  await toy.withStore((store) => materialize(store, toy.bundle));
  server = await startServer(toy.bundle, { port: 0, store: toy.storePath, logs: toy.logsDir, watch: false, now: () => NOW });
});

afterAll(async () => {
  await server?.close();
  toy?.cleanup();
});

describe("POST /v1/models/:model/predict", () => {
  it("answers with the prediction, model + version, feature values with statuses, and ODT values", async () => {
    const r = await predict("toy_request", { user_id: "u02", amount: 3 });
    expect(r.status).toBe(200);
    const p = r.body as OnlinePrediction;
    expect(p.model).toBe("toy_request");
    expect(p.version).toBe(1);
    expect(typeof p.prediction).toBe("number");
    expect(Object.keys(p.features).sort()).toEqual(["cat", "x1", "x2"]);
    expect(p.features.x1.status).toBe("present");
    expect(p.features.cat).toMatchObject({ status: "present", value: expect.any(String) });
    expect(p.odts.boost).toBeCloseTo(3 * (p.features.x1.value as number), 12);
    expect(p.request_time).toBe(new Date(NOW).toISOString());
    expect(p.feature_times.user_stats).toMatch(/^2025-/);
    expect(p.request_id).toMatch(/-\d+$/);
  });

  it("a null feature value has status null", async () => {
    await toy.withStore(async (store) => {
      const [row] = await store.all<{ user_id: string }>(`SELECT user_id FROM online_user_stats_v1 WHERE x2 IS NULL LIMIT 1`);
      if (!row) return; // the synthetic data has none at its latest rows
      const r = await predict("toy_gbdt", { user_id: row.user_id });
      expect(r.body.features.x2).toEqual({ value: null, status: "null" });
    });
  });

  it('{"instances": [...]} scores several, each equal to its single answer', async () => {
    const instances = [{ user_id: "u03", amount: 1 }, { user_id: "u04", amount: 2 }, { user_id: "u03", amount: 5 }];
    const r = await predict("toy_request", { instances });
    expect(r.status).toBe(200);
    const b = r.body as OnlineBatchPrediction;
    expect(b.predictions).toHaveLength(3);
    for (let i = 0; i < 3; i++) {
      const one = (await predict("toy_request", instances[i])).body as OnlinePrediction;
      expect(b.predictions[i].prediction).toBe(one.prediction);
      expect(b.predictions[i].features).toEqual(one.features);
      expect(b.predictions[i].odts).toEqual(one.odts);
    }
    expect(b.predictions[0].prediction).not.toBe(b.predictions[2].prediction); // the request field reaches the model
  });

  it("an unknown entity: not_found statuses and a prediction when the MDTs impute every input", async () => {
    const r = await predict("toy_impute", { user_id: "nobody" });
    expect(r.status).toBe(200);
    expect(r.body.features).toEqual({
      x1: { value: null, status: "not_found" },
      x2: { value: null, status: "not_found" },
      cat: { value: null, status: "not_found" },
    });
    expect(r.body.feature_times).toEqual({ user_stats: null });
    expect(typeof r.body.prediction).toBe("number");
  });

  it("an unknown entity: 422 naming the missing features when the model cannot impute (gbdt included)", async () => {
    const r = await predict("toy_gbdt", { user_id: "nobody" });
    expect(r.status).toBe(422);
    const e = (r.body as ApiErrorBody).error;
    expect(e.code).toBe("missing_features");
    expect(e.message).toMatch(/cannot predict without these features/);
    expect(e.message).toContain("user_id=\"nobody\"");
    expect(e.message).toContain("not found: x1, x2, cat");
    const batch = await predict("toy_gbdt", { instances: [{ user_id: "u01" }, { user_id: "nobody" }] });
    expect(batch.status).toBe(422);
    expect(batch.body.error.issues).toEqual([{ path: ["instances", 1], message: expect.stringContaining("not found: x1, x2, cat") }]);
    // toy_linear imputes x1 and x2 but not cat: not every input, so 422 too
    expect((await predict("toy_linear", { user_id: "nobody" })).status).toBe(422);
    await expectServing();
  });
});

describe("bad input: the stated answer, and the server keeps serving", () => {
  it("malformed JSON → 400", async () => {
    const r = await predict("toy_gbdt", '{"user_id": "u01",');
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("invalid_json");
    expect(r.body.error.message).toMatch(/^malformed JSON/);
    await expectServing();
  });

  it("wrong types and missing fields → 400 listing every issue with its JSON path", async () => {
    const r = await predict("toy_request", { user_id: 5, extra: true });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("invalid_request");
    const paths = r.body.error.issues.map((i: { path: unknown[] }) => i.path);
    expect(paths).toEqual(expect.arrayContaining([["user_id"], ["amount"], ["extra"]]));
    expect(paths).toHaveLength(3);
    const batch = await predict("toy_request", { instances: [{ user_id: "u01", amount: 1 }, { user_id: "u01", amount: "3" }, {}] });
    expect(batch.status).toBe(400);
    expect(batch.body.error.issues.map((i: { path: unknown[] }) => i.path)).toEqual([
      ["instances", 1, "amount"],
      ["instances", 2, "user_id"],
      ["instances", 2, "amount"],
    ]);
    // A body of many bad fields: every issue counted, the first 1,000 listed (no answer larger than the request).
    const many = await predict("toy_request", { instances: Array.from({ length: 1500 }, () => ({ user_id: 7, amount: 1 })) });
    expect(many.status).toBe(400);
    expect(many.body.error.message).toBe("invalid request for model `toy_request`: 1500 issues (the first 1000 listed)");
    expect(many.body.error.issues.map((i: { path: unknown[] }) => i.path).slice(998)).toEqual([
      ["instances", 998, "user_id"],
      ["instances", 999, "user_id"],
    ]);
    for (const body of [[], "\"text\"", "null", { instances: [] }, { instances: "x" }]) {
      const x = await predict("toy_request", body);
      expect(x.status, JSON.stringify(body)).toBe(400);
      expect(x.body.error.issues.length).toBeGreaterThan(0);
    }
    await expectServing();
  });

  it("unknown model → 404", async () => {
    const r = await predict("nope", { user_id: "u01" });
    expect(r.status).toBe(404);
    expect(r.body.error).toMatchObject({ status: 404, code: "unknown_model" });
    expect(r.body.error.message).toContain("served models: toy_gbdt, toy_linear, toy_request, toy_impute");
    await expectServing();
  });

  it("body over 1 MB → 413", async () => {
    const big = JSON.stringify({ user_id: "u01", pad: "x".repeat(1024 * 1024) });
    const r = await predict("toy_gbdt", big);
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe("body_too_large");
    await expectServing();
  });

  it("not JSON at all → 415 (text/plain too: a page may post it cross-site); an unknown route → 404", async () => {
    const res = await fetch(server.url + "/v1/models/toy_gbdt/predict", { method: "POST", headers: { "content-type": "application/xml" }, body: "<a/>" });
    expect(res.status).toBe(415);
    const text = await fetch(server.url + "/v1/models/toy_gbdt/predict", { method: "POST", headers: { "content-type": "text/plain" }, body: "hi" });
    expect(text.status).toBe(415);
    const nf = await fetch(server.url + "/v2/nothing");
    expect(nf.status).toBe(404);
    expect(((await nf.json()) as ApiErrorBody).error.code).toBe("not_found");
    await expectServing();
  });
});

describe("other routes", () => {
  it("GET /v1/models lists served models, versions and metrics", async () => {
    const res = await fetch(server.url + "/v1/models");
    expect(res.status).toBe(200);
    const { models } = (await res.json()) as { models: ServedModelInfo[] };
    expect(models.map((m) => m.model)).toEqual(["toy_gbdt", "toy_linear", "toy_request", "toy_impute"]);
    const gbdt = models[0];
    expect(gbdt).toMatchObject({ version: 1, stage: "production", algorithm: "gbdt", task: "regression", can_impute: false });
    expect(Object.keys(gbdt.metrics).sort()).toEqual(["mae", "r2", "rmse"]);
    // The loaded version's training statistics, as the registry stores them.
    expect(gbdt.statistics!.features.map((f) => [f.name, f.numeric ? "numeric" : "categorical"])).toEqual([
      ["x1", "numeric"],
      ["x2", "numeric"],
      ["cat", "categorical"],
    ]);
    expect(gbdt.statistics!.predictions.count).toBeGreaterThan(0);
    expect(models[2].request).toEqual([
      { name: "user_id", type: "string", nullable: false, kind: "key" },
      { name: "amount", type: "float", nullable: false, kind: "request" },
    ]);
  });

  it("GET /healthz", async () => {
    const res = await fetch(server.url + "/healthz");
    expect(res.status).toBe(200);
    const h = (await res.json()) as any;
    expect(h.status).toBe("ok");
    expect(h.online).toEqual([expect.objectContaining({ group: "user_stats", table: "online_user_stats_v1", entities: USERS.length, missing: false })]);
    expect(h.request_log.dir).toBe(toy.logsDir);
  });

  it("GET /metrics: Prometheus text with request counts by model/status and a latency histogram", async () => {
    const res = await fetch(server.url + "/metrics");
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^fti_predict_requests_total\{model="toy_gbdt",status="200"\} [1-9]\d*$/m);
    expect(text).toMatch(/^fti_predict_requests_total\{model="toy_gbdt",status="422"\} [1-9]/m);
    expect(text).toMatch(/^fti_predict_requests_total\{model="toy_gbdt",status="413"\} 1$/m);
    expect(text).toMatch(/^fti_predict_requests_total\{model="unknown",status="404"\} 1$/m);
    expect(text).toMatch(/^fti_predict_duration_seconds_bucket\{model="toy_gbdt",le="\+Inf"\} \d+$/m);
    expect(text).toMatch(/^fti_predict_duration_seconds_count\{model="toy_request"\} \d+$/m);
    expect(text).toMatch(/^fti_model_version\{model="toy_linear"\} 1$/m);
    expect(text).toMatch(/^fti_online_entities\{table="online_user_stats_v1"\} 30$/m);
  });
});

describe("served predictions equal batch inference", () => {
  it("for every entity, with and without request fields", async () => {
    const entities = join(toy.dir, "entities.ndjson");
    writeFileSync(entities, USERS.map((u, i) => JSON.stringify({ user_id: u, amount: 1 + (i % 4) })).join("\n") + "\n");
    const asOf = new Date(NOW);
    await toy.withStore(async (store) => {
      for (const model of ["toy_gbdt", "toy_linear", "toy_request"]) {
        await predictBatch(store, toy.bundle, model, { asOf, ...(model === "toy_request" ? { entitiesFile: entities } : {}) });
      }
    });
    for (const model of ["toy_gbdt", "toy_linear", "toy_request"]) {
      const rows = await toy.withStore((store) =>
        store.all<{ user_id: string; prediction: number }>(`SELECT user_id, prediction FROM predictions.${model} ORDER BY user_id`),
      );
      expect(rows).toHaveLength(USERS.length);
      const instances = rows.map((r) => ({ user_id: r.user_id, ...(model === "toy_request" ? { amount: 1 + USERS.indexOf(r.user_id) % 4 } : {}) }));
      const served = (await predict(model, { instances })).body as OnlineBatchPrediction;
      expect(served.predictions.map((p) => p.prediction)).toEqual(rows.map((r) => r.prediction));
    }
  });
});

describe("the in-process twin", () => {
  it("openLocalService answers exactly what the HTTP route answers", async () => {
    const local = await openLocalService(toy.bundle, { store: toy.storePath, logs: false });
    try {
      const a = await local.predict("toy_request", { user_id: "u05", amount: 2 });
      const b = await predict("toy_request", { user_id: "u05", amount: 2 });
      expect(a.status).toBe(200);
      const { request_id: _x, request_time: _y, ...ab } = a.body as OnlinePrediction;
      const { request_id: _z, request_time: _w, ...bb } = b.body as OnlinePrediction;
      expect(ab).toEqual(bb);
      expect((await local.predict("toy_request", { user_id: 1 })).status).toBe(400);
      expect(local.models().map((m) => m.model)).toEqual(["toy_gbdt", "toy_linear", "toy_request", "toy_impute"]);
    } finally {
      await local.close();
    }
  });
});

describe("staleness", () => {
  it("a row older than the view's ttl is stale: served as null; 422 without impute, a prediction with it", async () => {
    // The same models, served with a 20-day ttl on the view: rows every 10 days, the clock 2026-01-10.
    const base = toyBundle();
    const bundle = { ...base, views: base.views.map((v) => ({ ...v, ttlMs: 20 * 86_400_000 })) };
    const now = Date.parse("2026-01-10T00:00:00Z");
    const svc = await OnlineService.open(bundle, { store: toy.storePath, logs: false, now: () => now });
    try {
      const times = await toy.withStore((store) =>
        store.all<{ user_id: string; et: Date }>(`SELECT user_id, event_time AS et FROM online_user_stats_v1 ORDER BY user_id`),
      );
      const stale = times.find((t) => t.et.getTime() < now - 20 * 86_400_000)!;
      const fresh = times.find((t) => t.et.getTime() >= now - 20 * 86_400_000)!;
      expect(stale && fresh).toBeTruthy();
      const a = await svc.predict("toy_impute", { user_id: stale.user_id });
      expect(a.status).toBe(200);
      expect((a.body as OnlinePrediction).features.x1).toEqual({ value: null, status: "stale" });
      const b = await svc.predict("toy_gbdt", { user_id: stale.user_id });
      expect(b.status).toBe(422);
      expect((b.body as ApiErrorBody).error.message).toContain("stale (older than the view's ttl): x1, x2, cat");
      const c = await svc.predict("toy_gbdt", { user_id: fresh.user_id });
      expect(c.status).toBe(200);
      expect((c.body as OnlinePrediction).features.x1.status).toBe("present");
    } finally {
      await svc.close();
    }
  });
});

describe("hot swap and live materialisation", () => {
  it("promoting a new version swaps it in without a restart (POST /admin/reload)", async () => {
    const before = (await predict("toy_gbdt", { user_id: "u01" })).body as OnlinePrediction;
    expect(before.version).toBe(1);
    // Train version 2 with other parameters while the service runs; its gate promotes it.
    const other = toyBundle();
    other.models = other.models.map((m) =>
      m.name === "toy_gbdt" ? { ...m, algorithm: { kind: "gbdt" as const, params: { trees: 12, depth: 2, learning_rate: 0.3, min_leaf: 5, bins: 16, l2: 0 } } } : m,
    );
    const report = await toy.withStore((store) => trainModelFromSpec(store, other, "toy_gbdt"));
    expect(report).toMatchObject({ version: 2, stage: "production" });
    const res = await post("/admin/reload", {}, { authorization: `Bearer ${server.adminToken}` });
    expect(res.status).toBe(200);
    expect(res.body.models).toEqual([{ model: "toy_gbdt", from: 1, to: 2 }]);
    const after = (await predict("toy_gbdt", { user_id: "u01" })).body as OnlinePrediction;
    expect(after.version).toBe(2);
    expect(after.prediction).not.toBe(before.prediction);
    // And back: promote v1.
    await toy.withStore((store) => promote(store, "toy_gbdt", 1));
    await post("/admin/reload", {}, { authorization: `Bearer ${server.adminToken}` });
    const back = (await predict("toy_gbdt", { user_id: "u01" })).body as OnlinePrediction;
    expect(back).toMatchObject({ version: 1, prediction: before.prediction });
  });

  it("a service watching the store picks up a promote and a materialize by itself", async () => {
    const svc = await OnlineService.open(toy.bundle, { store: toy.storePath, logs: false, watch: true, watchIntervalMs: 50, now: () => NOW });
    try {
      const v = async () => ((await svc.predict("toy_gbdt", { user_id: "u06" })).body as OnlinePrediction);
      expect((await v()).version).toBe(1);
      await toy.withStore((store) => promote(store, "toy_gbdt", 2));
      await expect.poll(async () => (await v()).version, { timeout: 10_000, interval: 50 }).toBe(2);
      await toy.withStore(async (store) => {
        await store.appendRows(FEATURE_TABLE, ["user_id", "event_time", "ingested_at", "x1", "x2", "cat"], [
          ["u06", new Date("2026-02-01T00:00:00Z"), new Date("2026-02-01T00:00:00Z"), 42.5, 1, "a"],
        ]);
        await materialize(store, toy.bundle);
      });
      await expect.poll(async () => (await v()).features.x1.value, { timeout: 10_000, interval: 50 }).toBe(42.5);
      await toy.withStore((store) => promote(store, "toy_gbdt", 1));
      await expect.poll(async () => (await v()).version, { timeout: 10_000, interval: 50 }).toBe(1);
    } finally {
      await svc.close();
    }
  });

  it("materialize against the live HTTP service: the next prediction after a reload uses the new values", async () => {
    await toy.withStore(async (store) => {
      await store.appendRows(FEATURE_TABLE, ["user_id", "event_time", "ingested_at", "x1", "x2", "cat"], [
        ["u07", new Date("2026-02-02T00:00:00Z"), new Date("2026-02-02T00:00:00Z"), -7.25, 3, "c"],
      ]);
      const r = await materialize(store, toy.bundle);
      expect(r.groups[0]).toMatchObject({ mode: "incremental", candidates: 1, written: 1 });
    });
    const res = await post("/admin/reload", {}, { authorization: `Bearer ${server.adminToken}` });
    expect(res.body.groups).toEqual([expect.objectContaining({ table: "online_user_stats_v1", entities: USERS.length })]);
    const p = (await predict("toy_linear", { user_id: "u07" })).body as OnlinePrediction;
    expect(p.features.x1).toEqual({ value: -7.25, status: "present" });
    expect(p.feature_times.user_stats).toBe("2026-02-02T00:00:00.000Z");
  });
});

describe("a version that cannot be served", () => {
  it("is not swapped in: the old version keeps serving and the error is reported until it is fixed", async () => {
    // Version 3, trained by other transformation code (another transforms hash), promoted by its gate.
    const foreign = toyBundle({ transformsHash: "transforms-hash-other" });
    const report = await toy.withStore((store) => trainModelFromSpec(store, foreign, "toy_gbdt"));
    expect(report).toMatchObject({ version: 3, stage: "production" });
    const res = await post("/admin/reload", {}, { authorization: `Bearer ${server.adminToken}` });
    expect(res.body.models).toEqual([]);
    expect(res.body.errors).toEqual([expect.stringMatching(/cannot load `toy_gbdt` version 3: .*trained with transforms transforms-hash-other/)]);
    expect(((await predict("toy_gbdt", { user_id: "u01" })).body as OnlinePrediction).version).toBe(1);
    const listed = ((await (await fetch(server.url + "/v1/models")).json()) as { models: ServedModelInfo[] }).models[0];
    expect(listed).toMatchObject({ model: "toy_gbdt", version: 1, reload_error: expect.stringContaining("version 3") });
    expect(((await (await fetch(server.url + "/healthz")).json()) as { status: string }).status).toBe("degraded");
    await toy.withStore((store) => promote(store, "toy_gbdt", 1));
    await post("/admin/reload", {}, { authorization: `Bearer ${server.adminToken}` });
    const again = ((await (await fetch(server.url + "/v1/models")).json()) as { models: ServedModelInfo[] }).models[0];
    expect(again.reload_error).toBeUndefined();
    // A service starting now refuses the foreign version outright: start-up is strict.
    await toy.withStore((store) => promote(store, "toy_gbdt", 3));
    await expect(OnlineService.open(toy.bundle, { store: toy.storePath, logs: false })).rejects.toThrow(/refusing to predict with mismatched transformation code/);
    await toy.withStore((store) => promote(store, "toy_gbdt", 1));
  });

  it("a port in use is a user error", async () => {
    const port = Number(new URL(server.url).port);
    await expect(startServer(toy.bundle, { port, store: toy.storePath, logs: false })).rejects.toThrow(`port ${port} on 127.0.0.1 is in use`);
  });
});

describe("request log and verify", () => {
  it("logs every scored instance; verify finds 0 mismatches on clean data and > 0 after corrupting an online value", async () => {
    const logs = join(toy.dir, "verify-logs");
    const svc = await OnlineService.open(toy.bundle, { store: toy.storePath, logs, now: () => NOW });
    const sent: string[] = [];
    try {
      for (const [i, u] of USERS.entries()) {
        const r = await svc.predict("toy_request", { user_id: u, amount: 1 + (i % 3) });
        expect(r.status).toBe(200);
        sent.push((r.body as OnlinePrediction).request_id);
      }
      const r = await svc.predict("toy_request", { instances: [{ user_id: "u01", amount: 9 }, { user_id: "u02", amount: 1 }] });
      for (const p of (r.body as OnlineBatchPrediction).predictions) sent.push(p.request_id);
      expect((await svc.predict("toy_impute", { user_id: "ghost" })).status).toBe(200);
      expect((await svc.predict("toy_gbdt", { user_id: "ghost" })).status).toBe(422); // not scored, not logged
    } finally {
      await svc.close();
    }
    const log = readRequestLog(logs, "toy_request");
    expect(log.entries.map((e) => e.id).sort()).toEqual([...sent].sort());
    const e = log.entries.find((x) => x.request.amount === 9)!;
    expect(e).toMatchObject({ v: 2, seq: expect.any(Number), model: "toy_request", version: 1, ts: new Date(NOW).toISOString(), request: { user_id: "u01", amount: 9 } });
    expect(e.features.x1.status).toBe("present");
    const ghost = readRequestLog(logs, "toy_impute").entries;
    expect(ghost).toHaveLength(1);
    expect(ghost[0].features.x1).toEqual({ value: null, status: "not_found" });
    expect(readRequestLog(logs, "toy_gbdt").entries).toHaveLength(0);
    const ghostVerify = await toy.withStore((store) => verifyModel(store, toy.bundle, "toy_impute", { logsDir: logs }));
    expect(ghostVerify).toMatchObject({ requests: 1, mismatches: 0 });
    expect(ghostVerify.features[0].statuses).toEqual({ not_found: 1 });

    const clean = await toy.withStore((store) => verifyModel(store, toy.bundle, "toy_request", { logsDir: logs }));
    expect(clean.requests).toBe(USERS.length + 2);
    expect(clean.features.map((f) => [f.name, f.compared, f.mismatches])).toEqual([
      ["x1", USERS.length + 2, 0],
      ["x2", USERS.length + 2, 0],
      ["cat", USERS.length + 2, 0],
      ["boost", USERS.length + 2, 0],
    ]);
    expect(clean.mismatches).toBe(0);

    // Corrupt one online value, serve it, verify again.
    await toy.withStore((store) => store.run(`UPDATE online_user_stats_v1 SET x1 = x1 + 1, materialized_at = now() WHERE user_id = 'u09'`));
    await toy.withStore((store) => store.run(`UPDATE fti_online_state SET changed_at = now()`));
    const svc2 = await OnlineService.open(toy.bundle, { store: toy.storePath, logs, now: () => NOW });
    try {
      expect((await svc2.predict("toy_request", { user_id: "u09", amount: 2 })).status).toBe(200);
    } finally {
      await svc2.close();
    }
    const dirty = await toy.withStore((store) => verifyModel(store, toy.bundle, "toy_request", { logsDir: logs }));
    expect(dirty.requests).toBe(USERS.length + 3);
    const x1 = dirty.features.find((f) => f.name === "x1")!;
    expect(x1.mismatches).toBe(1);
    expect(x1.examples[0]).toMatchObject({ entity: { user_id: "u09" }, status: "present" });
    expect((x1.examples[0].logged as number) - (x1.examples[0].recomputed as number)).toBeCloseTo(1, 9);
    expect(dirty.features.find((f) => f.name === "boost")!.mismatches).toBe(1); // the ODT read the corrupted x1
    expect(dirty.features.find((f) => f.name === "x2")!.mismatches).toBe(0);
    expect(dirty.mismatchedRequests).toBe(1);
    const since = await toy.withStore((store) => verifyModel(store, toy.bundle, "toy_request", { logsDir: logs, since: new Date(NOW + 1) }));
    expect(since.requests).toBe(0);
  });
});

describe("latency", () => {
  it("measures one in-process predict and one HTTP predict", async () => {
    const svc = await OnlineService.open(toy.bundle, { store: toy.storePath, logs: false, now: () => NOW });
    try {
      const n = 300;
      for (let i = 0; i < 20; i++) await svc.predict("toy_gbdt", { user_id: USERS[i % 30] });
      let t = performance.now();
      for (let i = 0; i < n; i++) await svc.predict("toy_gbdt", { user_id: USERS[i % 30] });
      const local = (performance.now() - t) / n;
      for (let i = 0; i < 20; i++) await predict("toy_gbdt", { user_id: USERS[i % 30] });
      t = performance.now();
      for (let i = 0; i < n; i++) await predict("toy_gbdt", { user_id: USERS[i % 30] });
      const http = (performance.now() - t) / n;
      console.log(`latency (toy_gbdt, mean of ${n}): in-process ${local.toFixed(3)} ms, HTTP ${http.toFixed(3)} ms`);
      expect(local).toBeLessThan(50);
      expect(http).toBeLessThan(100);
    } finally {
      await svc.close();
    }
  });
});
