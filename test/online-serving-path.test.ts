// What keeps the online path fast, and that it changes no answer: the
// column-wise online cache (values, nulls, NaN, strings as before),
// micro-batching of concurrent requests into one ONNX run (every request
// still gets its own prediction; a failing batch fails only its culprit),
// Fastify's per-request log lines off unless asked for, the ONNX
// run/row counters on /metrics, and large batches worked through in slices
// (the event loop keeps turning: /healthz answers while one is in flight).

import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GroupPlan, Scalar } from "../runtime/api.ts";
import { PredictBatcher, MAX_BATCH_ROWS } from "../runtime/online/batcher.ts";
import { columnValue, lookup, toFeatureColumn, type CachedGroup } from "../runtime/online/cache.ts";
import { KeyIndex } from "../runtime/online/key-index.ts";
import { createHttpApp } from "../runtime/online/http.ts";
import { OnlineService } from "../runtime/online/service.ts";
import { MAX_INSTANCES } from "../runtime/online/predict-request.ts";
import { INSTANCES_PER_TURN } from "../runtime/online/turns.ts";
import type { ApiErrorBody, OnlineBatchPrediction, OnlinePrediction } from "../runtime/online/types.ts";
import { countingLoopTurns } from "./helpers/event-loop.ts";
import { USERS } from "./helpers/model-bundles.ts";
import { buildToyStore, type ToyStore } from "./helpers/online-toy.ts";

const NOW = Date.parse("2026-03-01T00:00:00Z");

describe("online cache columns", () => {
  it("numbers go to a Float64Array with a null mask; NaN stays a value, null and undefined are null", () => {
    const col = toFeatureColumn([1.5, null, NaN, -0, undefined, 7]);
    expect(col.kind).toBe("number");
    expect([0, 1, 2, 3, 4, 5].map((i) => columnValue(col, i))).toEqual([1.5, null, NaN, -0, null, 7]);
  });

  it("anything but numbers keeps the values as read", () => {
    const col = toFeatureColumn(["a", null, "c"]);
    expect(col.kind).toBe("scalar");
    expect([0, 1, 2].map((i) => columnValue(col, i))).toEqual(["a", null, "c"]);
    const mixed = toFeatureColumn([1, true, null]);
    expect([0, 1, 2].map((i) => columnValue(mixed, i))).toEqual([1, true, null]);
  });

  it("lookup: present, null, stale and not_found, with the row's event time", () => {
    const plan = { name: "g", keys: [{ name: "id", type: "string" }] } as unknown as GroupPlan;
    const day = 86_400_000;
    const group: CachedGroup = {
      plan,
      table: "online_g_v1",
      features: ["x", "s"],
      index: KeyIndex.of(["a", "b"]),
      eventMs: Float64Array.from([NOW - day, NOW - 40 * day]),
      columns: [toFeatureColumn([2.5, 3]), toFeatureColumn([null, "old"])],
      missing: false,
      changedAt: null,
      loadedAt: new Date(),
    };
    const join = { id: "g(id)", group, on: [{ key: "id", column: "id" }], features: [{ name: "x", column: "x" }, { name: "s", column: "s" }] };
    const at = (id: Scalar) => lookup([join], { id }, NOW, 30 * day);
    expect(at("a")).toEqual({
      features: { x: { value: 2.5, status: "present" }, s: { value: null, status: "null" } },
      times: { "g(id)": new Date(NOW - day).toISOString() },
      missing: [],
      missingJoins: [],
    });
    expect(at("b").features).toEqual({ x: { value: null, status: "stale" }, s: { value: null, status: "stale" } });
    expect(at("b").missing).toEqual(["x", "s"]);
    expect(at("b").missingJoins).toEqual([{ id: "g(id)", status: "stale", keys: { id: "b" } }]);
    expect(at("zz")).toEqual({
      features: { x: { value: null, status: "not_found" }, s: { value: null, status: "not_found" } },
      times: { "g(id)": null },
      missing: ["x", "s"],
      missingJoins: [{ id: "g(id)", status: "not_found", keys: { id: "zz" } }],
    });
  });
});

describe("PredictBatcher", () => {
  /** A stand-in model: the prediction is the row's `v`; `bad` rows make the whole run throw. */
  function fakeModel() {
    const runs: number[] = [];
    return {
      runs,
      async predictRows(rows: ReadonlyArray<Record<string, Scalar>>) {
        runs.push(rows.length);
        await new Promise((r) => setImmediate(r));
        if (rows.some((r) => r.bad)) throw new Error("bad row");
        return Float32Array.from(rows, (r) => Number(r.v));
      },
    };
  }

  it("a request that finds the model idle runs at once; the ones that come meanwhile share the next run", async () => {
    const model = fakeModel();
    const b = new PredictBatcher(model);
    const out = await Promise.all([1, 2, 3, 4, 5].map((v) => b.predict([{ v }, { v: v * 10 }])));
    expect(out.map((o) => [...o])).toEqual([1, 2, 3, 4, 5].map((v) => [v, v * 10]));
    expect(model.runs).toEqual([2, 8]);
    expect(b.stats).toEqual({ runs: 2, rows: 10 });
  });

  it("a failing batch is retried request by request: only the culprit fails", async () => {
    const model = fakeModel();
    const b = new PredictBatcher(model);
    const first = b.predict([{ v: 1 }]);
    const rest = [b.predict([{ v: 2 }]), b.predict([{ v: 3, bad: true }]), b.predict([{ v: 4 }])];
    expect([...(await first)]).toEqual([1]);
    const settled = await Promise.allSettled(rest);
    expect(settled.map((s) => (s.status === "fulfilled" ? [...s.value] : (s.reason as Error).message))).toEqual([[2], "bad row", [4]]);
  });

  it("a run holds at most MAX_BATCH_ROWS rows: a larger request is scored in slices, in order", async () => {
    const model = fakeModel();
    const b = new PredictBatcher(model);
    const big = Array.from({ length: 2 * MAX_BATCH_ROWS + 5 }, (_, i) => ({ v: i }));
    const half = Array.from({ length: MAX_BATCH_ROWS / 2 + 1 }, (_, i) => ({ v: i }));
    const out = await Promise.all([b.predict([{ v: 0 }]), b.predict(half), b.predict(half), b.predict(big)]);
    expect(out.map((o) => o.length)).toEqual([1, half.length, half.length, big.length]);
    expect([...out[3]]).toEqual(big.map((r) => r.v));
    expect(Math.max(...model.runs)).toBeLessThanOrEqual(MAX_BATCH_ROWS);
    expect(model.runs).toEqual([1, half.length, half.length, MAX_BATCH_ROWS, MAX_BATCH_ROWS, 5]);
  });

  it("requests that arrive while a large one is scored go between its slices", async () => {
    const model = fakeModel();
    const b = new PredictBatcher(model);
    const order: string[] = [];
    const big = Array.from({ length: 3 * MAX_BATCH_ROWS }, (_, i) => ({ v: i }));
    const large = b.predict(big).then(() => order.push("large"));
    // arrives while the large request's first slice is in the model (it went in at once: the model was idle)
    expect(model.runs).toEqual([MAX_BATCH_ROWS]);
    const small = b.predict([{ v: 7 }]).then((o) => order.push(`small ${o[0]}`));
    await Promise.all([large, small]);
    expect(order).toEqual(["small 7", "large"]);
    expect(model.runs).toEqual([MAX_BATCH_ROWS, 1, MAX_BATCH_ROWS, MAX_BATCH_ROWS]);
  });

  it("a failing slice fails the large request, and the batcher keeps serving", async () => {
    const model = fakeModel();
    const b = new PredictBatcher(model);
    const big = Array.from({ length: MAX_BATCH_ROWS + 10 }, (_, i) => ({ v: i, ...(i === MAX_BATCH_ROWS + 3 ? { bad: true } : {}) }));
    await expect(b.predict(big)).rejects.toThrow("bad row");
    expect([...(await b.predict([{ v: 4 }]))]).toEqual([4]);
  });
});

describe("the service under concurrent requests", () => {
  let toy: ToyStore;
  let svc: OnlineService;

  beforeAll(async () => {
    toy = await buildToyStore();
    const { materialize } = await import("../runtime/online/materialize.ts");
    await toy.withStore((store) => materialize(store, toy.bundle));
    svc = await OnlineService.open(toy.bundle, { store: toy.storePath, logs: false, now: () => NOW });
  });

  afterAll(async () => {
    await svc?.close();
    toy?.cleanup();
  });

  it("concurrent requests share ONNX runs, and each gets the answer it gets alone", async () => {
    const reqs = USERS.map((user_id, i) => ({ user_id, amount: 1 + (i % 5) }));
    const alone: unknown[] = [];
    for (const r of reqs) alone.push(strip((await svc.predict("toy_request", r)).body));
    const before = runsOf(svc, "toy_request");
    const together = await Promise.all(reqs.map((r) => svc.predict("toy_request", r)));
    expect(together.map((r) => r.status)).toEqual(reqs.map(() => 200));
    expect(together.map((r) => strip(r.body))).toEqual(alone);
    const after = runsOf(svc, "toy_request");
    expect(after.rows - before.rows).toBe(reqs.length);
    expect(after.runs - before.runs).toBeLessThan(reqs.length);
  });

  it("a 10,000-instance batch is worked through in slices: the event loop turns while it is in flight", async () => {
    const instances = Array.from({ length: MAX_INSTANCES }, (_, i) => ({ user_id: USERS[i % USERS.length], amount: 1 + (i % 7) }));
    const { value: r, turns } = await countingLoopTurns(() => svc.predict("toy_request", { instances }));
    expect(r.status).toBe(200);
    const predictions = (r.body as OnlineBatchPrediction).predictions;
    expect(predictions).toHaveLength(MAX_INSTANCES);
    // each slice of validation, lookup, results and scoring gives the loop a turn
    expect(turns).toBeGreaterThanOrEqual(MAX_INSTANCES / INSTANCES_PER_TURN);
    // and slicing changes no answer
    for (const i of [0, 1, 4097, MAX_INSTANCES - 1]) {
      const alone = await svc.predict("toy_request", instances[i]);
      expect(strip({ ...predictions[i], model: "toy_request", version: (r.body as OnlineBatchPrediction).version, request_time: (r.body as OnlineBatchPrediction).request_time })).toEqual(strip(alone.body));
    }
  });

  it("a large batch's invalid instances are reported at their paths, in order, as one validation gives them", async () => {
    const instances: Array<Record<string, unknown>> = Array.from({ length: 3000 }, (_, i) => ({ user_id: USERS[i % USERS.length], amount: 1 }));
    instances[3] = { user_id: "u01", amount: "x" };
    instances[2999] = { amount: 1, extra: true };
    const r = await svc.predict("toy_request", { instances });
    expect(r.status).toBe(400);
    const paths = (r.body as ApiErrorBody).error.issues!.map((i) => i.path);
    expect(paths).toEqual([["instances", 3, "amount"], ["instances", 2999, "user_id"], ["instances", 2999, "extra"]]);
    const envelope = await svc.predict("toy_request", { instances, more: 1 });
    expect((envelope.body as ApiErrorBody).error.issues!.map((i) => i.path)).toEqual([["instances", 3, "amount"], ["instances", 2999, "user_id"], ["instances", 2999, "extra"], ["more"]]);
  });

  it("a large batch is looked up and scored a run at a time; an unknown entity in a later run is still a 422 listing every one", async () => {
    const instances: Array<Record<string, unknown>> = Array.from({ length: 3 * MAX_BATCH_ROWS + 10 }, (_, i) => ({ user_id: USERS[i % USERS.length] }));
    const ok = await svc.predict("toy_gbdt", { instances }, { text: true });
    expect(ok.status).toBe(200);
    const parsed = JSON.parse(ok.text!) as OnlineBatchPrediction;
    expect(parsed.predictions).toHaveLength(instances.length);
    const alone = await svc.predict("toy_gbdt", instances[2 * MAX_BATCH_ROWS + 3]);
    expect(strip({ ...parsed.predictions[2 * MAX_BATCH_ROWS + 3], model: "toy_gbdt", version: parsed.version, request_time: parsed.request_time })).toEqual(strip(alone.body));
    instances[MAX_BATCH_ROWS + 1] = { user_id: "ghost-1" };
    instances[3 * MAX_BATCH_ROWS + 9] = { user_id: "ghost-2" };
    const r = await svc.predict("toy_gbdt", { instances }, { text: true });
    expect(r.status).toBe(422);
    expect((r.body as ApiErrorBody).error.issues!.map((i) => i.path)).toEqual([["instances", MAX_BATCH_ROWS + 1], ["instances", 3 * MAX_BATCH_ROWS + 9]]);
    expect((r.body as ApiErrorBody).error.message).toContain(`(2 of ${instances.length} instances)`);
  });

  it("/healthz answers while a 10,000-instance batch request is in flight", async () => {
    const { app } = createHttpApp(svc);
    try {
      await app.listen({ port: 0, host: "127.0.0.1" });
      const address = app.server.address() as AddressInfo;
      const url = `http://127.0.0.1:${address.port}`;
      const instances = Array.from({ length: MAX_INSTANCES }, (_, i) => ({ user_id: USERS[i % USERS.length], amount: 1 + (i % 7) }));
      const order: string[] = [];
      const batch = fetch(`${url}/v1/models/toy_request/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ instances }) }).then(
        async (res) => {
          order.push(`batch ${res.status} ${((await res.json()) as OnlineBatchPrediction).predictions.length}`);
        },
      );
      // wait until the service is scoring the batch, then ask for /healthz
      const started = runsOf(svc, "toy_request").rows;
      while (runsOf(svc, "toy_request").rows === started) await new Promise((r) => setTimeout(r, 1));
      const health = fetch(`${url}/healthz`).then((res) => order.push(`healthz ${res.status}`));
      await Promise.all([batch, health]);
      expect(order).toEqual(["healthz 200", `batch 200 ${MAX_INSTANCES}`]);
    } finally {
      await app.close();
    }
  });

  it("/metrics counts ONNX runs and rows per model", async () => {
    const { app } = createHttpApp(svc);
    try {
      const res = await app.inject({ method: "GET", url: "/metrics" });
      const text = res.body;
      expect(text).toContain("# TYPE fti_onnx_runs_total counter");
      expect(text).toMatch(/^fti_onnx_rows_total\{model="toy_request"\} [1-9]\d*$/m);
      expect(text).toMatch(/^fti_onnx_runs_total\{model="toy_gbdt"\} \d+$/m);
    } finally {
      await app.close();
    }
  });

  it("Fastify's per-request log lines are off by default and on with logRequests", async () => {
    const lines = async (logRequests: boolean | undefined) => {
      let text = "";
      const stream = new Writable({
        write(chunk, _enc, done) {
          text += String(chunk);
          done();
        },
      });
      const { app } = createHttpApp(svc, { httpLogger: { level: "info", stream }, ...(logRequests === undefined ? {} : { logRequests }) });
      try {
        const res = await app.inject({ method: "POST", url: "/v1/models/toy_gbdt/predict", payload: { user_id: "u01" } });
        expect(res.statusCode).toBe(200);
      } finally {
        await app.close();
      }
      return text;
    };
    expect(await lines(undefined)).not.toMatch(/incoming request|request completed/);
    expect(await lines(false)).not.toMatch(/incoming request|request completed/);
    const on = await lines(true);
    expect(on).toMatch(/incoming request/);
    expect(on).toMatch(/request completed/);
  });
});

function runsOf(svc: OnlineService, model: string): { runs: number; rows: number } {
  const gauges = svc.gauges();
  const value = (name: string) => gauges.find((g) => g.name === name)!.values.find((v) => (v.labels as Record<string, string>).model === model)!.value;
  return { runs: value("fti_onnx_runs_total"), rows: value("fti_onnx_rows_total") };
}

/** An answer without its request id (unique per request). */
function strip(body: unknown): unknown {
  const { request_id: _id, ...rest } = body as OnlinePrediction;
  return rest;
}
