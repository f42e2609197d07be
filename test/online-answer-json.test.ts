// The answer and the request log line of a prediction are built as text from
// parts serialized once (runtime/online/answer-json.ts). They must be exactly
// what JSON.stringify gives the answer object and the log entry: checked here
// on generated instances (awkward strings, NaN, -0, huge numbers, nulls, late
// events), through the log writer, and end to end on the service (the text
// the HTTP route sends against the object the in-process service answers).

import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Scalar } from "../runtime/api.ts";
import { PredictionJson } from "../runtime/online/answer-json.ts";
import { RequestLog, SerializedEntry } from "../runtime/online/log.ts";
import { createHttpApp } from "../runtime/online/http.ts";
import { OnlineService } from "../runtime/online/service.ts";
import { INSTANCES_PER_TURN } from "../runtime/online/turns.ts";
import { MAX_BATCH_ROWS } from "../runtime/online/batcher.ts";
import type { FeatureValue, OnlineInstanceResult } from "../runtime/online/types.ts";
import { USERS } from "./helpers/model-bundles.ts";
import { buildToyStore, type ToyStore } from "./helpers/online-toy.ts";

const NOW = Date.parse("2026-03-01T00:00:00Z");

/** A deterministic generator of awkward values. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

const STRINGS = ["", "plain", 'quote " and \\ backslash', "line\nbreak\ttab", "ünï©ødé ✓", "\u2028\u2029", "lone \ud800 surrogate", "\u0000\u001f", "</script>"];
const NUMBERS = [0, -0, 1.5, -2.25, 1e21, 1e-7, 5e-324, Number.MAX_VALUE, NaN, Infinity, -Infinity, 3860.746826171875, 0.1 + 0.2];
const STATUSES: FeatureValue["status"][] = ["present", "null", "not_found", "stale", "future"];

function scalar(r: () => number): Scalar {
  const k = Math.floor(r() * 4);
  if (k === 0) return null;
  if (k === 1) return r() < 0.5;
  if (k === 2) return STRINGS[Math.floor(r() * STRINGS.length)];
  return NUMBERS[Math.floor(r() * NUMBERS.length)];
}

function instance(r: () => number, i: number): { result: OnlineInstanceResult; request: Record<string, Scalar> } {
  const features: Record<string, FeatureValue> = {};
  for (let f = 0; f < 1 + Math.floor(r() * 6); f++) features[`f${f}_${STRINGS[f % STRINGS.length]}`] = { value: scalar(r), status: STATUSES[Math.floor(r() * STATUSES.length)] };
  const odts: Record<string, Scalar> = r() < 0.3 ? {} : { expected: scalar(r), "odt \"2\"": scalar(r) };
  const times: Record<string, string | null> = { g: r() < 0.2 ? null : new Date(NOW - i * 1000).toISOString(), "other group": "2026-01-01T00:00:00.000Z" };
  const late = r() < 0.3 ? { g: { events: 3, oldest_event_time: "2026-02-01T00:00:00.000Z" } } : undefined;
  const p = NUMBERS[Math.floor(r() * NUMBERS.length)];
  const result: OnlineInstanceResult = {
    prediction: Number.isFinite(p) ? p : null,
    features,
    odts,
    feature_times: times,
    ...(late ? { late_events: late } : {}),
    request_id: `id-${i}-${STRINGS[i % STRINGS.length]}`,
  };
  return { result, request: { user_id: STRINGS[i % STRINGS.length], amount: scalar(r) } };
}

describe("PredictionJson", () => {
  it("gives JSON.stringify's text of single and batch answers and of log entries", () => {
    const r = rng(7);
    for (const model of ["m", 'odd "model" ✓']) {
      const json = new PredictionJson(model, 12, "2026-03-01T00:00:00.000Z");
      const batchItems: OnlineInstanceResult[] = [];
      const batchTexts: string[] = [];
      for (let i = 0; i < 300; i++) {
        const { result, request } = instance(r, i);
        const single = json.instance(result, request, true);
        expect(single.answer).toBe(JSON.stringify({ model, version: 12, request_time: "2026-03-01T00:00:00.000Z", ...result }));
        const entry = {
          v: 2,
          id: result.request_id,
          ts: "2026-03-01T00:00:00.000Z",
          model,
          version: 12,
          request,
          features: result.features,
          feature_times: result.feature_times,
          odts: result.odts,
          prediction: result.prediction,
          proc: "123-456",
          seq: i + 1,
        };
        expect(`${single.log},"proc":"123-456","seq":${i + 1}}`).toBe(JSON.stringify(entry));
        const item = json.instance(result, request, false);
        expect(item.log).toBe(single.log);
        batchItems.push(result);
        batchTexts.push(item.answer);
      }
      expect(json.batch(batchTexts)).toBe(JSON.stringify({ model, version: 12, request_time: "2026-03-01T00:00:00.000Z", predictions: batchItems }));
    }
  });
});

describe("RequestLog with serialized entries", () => {
  it("writes the same line for a SerializedEntry as for the entry object", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fti-answer-json-"));
    try {
      const log = new RequestLog(dir, { flushMs: 10 });
      const r = rng(11);
      const json = new PredictionJson("m", 1, "2026-03-01T00:00:00.000Z");
      const expected: string[] = [];
      for (let i = 0; i < 50; i++) {
        const { result, request } = instance(r, i);
        const entry = { v: 2 as const, id: result.request_id, ts: "2026-03-01T00:00:00.000Z", model: "m", version: 1, request, features: result.features, feature_times: result.feature_times, odts: result.odts, prediction: result.prediction };
        if (i % 2 === 0) log.append(new SerializedEntry("m", json.instance(result, request, false).log));
        else log.append({ ...entry });
        expected.push(JSON.stringify({ ...entry, proc: log.proc, seq: i + 1 }));
      }
      await log.close();
      const files = readdirSync(join(dir, "m"));
      const lines = readFileSync(join(dir, "m", files[0]), "utf8").trimEnd().split("\n");
      expect(lines.slice(0, 50)).toEqual(expected);
      expect(JSON.parse(lines[50])).toMatchObject({ kind: "end", seq: 50 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the service's answer text", () => {
  let toy: ToyStore;
  let svc: OnlineService;

  beforeAll(async () => {
    toy = await buildToyStore();
    const { materialize } = await import("../runtime/online/materialize.ts");
    await toy.withStore((store) => materialize(store, toy.bundle));
    svc = await OnlineService.open(toy.bundle, { store: toy.storePath, logs: toy.logsDir, now: () => NOW });
  }, 120_000);

  afterAll(async () => {
    await svc?.close();
    toy?.cleanup();
  });

  // The in-process answer and the text of the same request give the same JSON (request ids aside: each call numbers its own).
  const sameAnswer = (text: string, body: unknown) => {
    const strip = (s: string) => s.replace(/"request_id":"[^"]*"/g, '"request_id":"-"');
    expect(strip(text)).toBe(strip(JSON.stringify(body)));
  };

  it("equals JSON.stringify of the in-process answer: single, batch, missing features, unknown entities", async () => {
    const bodies: unknown[] = [
      { user_id: "u01", amount: 2 },
      { user_id: "ghost", amount: 1 },
      { instances: USERS.slice(0, 30).map((u, i) => ({ user_id: u, amount: i % 4 })) },
      { instances: Array.from({ length: 2 * INSTANCES_PER_TURN + 5 }, (_, i) => ({ user_id: i % 7 === 0 ? `nobody-${i}` : USERS[i % USERS.length], amount: i / 3 })) },
      // more than one ONNX run: the answer is joined from runs of instances
      { instances: Array.from({ length: MAX_BATCH_ROWS + INSTANCES_PER_TURN + 3 }, (_, i) => ({ user_id: USERS[i % USERS.length], amount: (i % 9) / 7 })) },
    ];
    for (const model of ["toy_request", "toy_impute", "toy_gbdt"]) {
      for (const body of bodies) {
        const asText = await svc.predict(model, body, { text: true });
        const asObject = await svc.predict(model, body);
        expect(asText.status).toBe(asObject.status);
        if (asObject.status === 200) {
          expect(asText.body).toBeNull();
          sameAnswer(asText.text!, asObject.body);
        } else {
          // errors (a 422 for an unknown entity without impute, a 400) are objects either way
          expect(asText.text).toBeUndefined();
          expect(asText.body).toEqual(asObject.body);
        }
      }
    }
  });

  it("the HTTP route sends that text with the JSON content type, and every 4xx as before", async () => {
    const { app } = createHttpApp(svc);
    try {
      const ok = await app.inject({ method: "POST", url: "/v1/models/toy_request/predict", payload: { user_id: "u02", amount: 3 } });
      expect(ok.statusCode).toBe(200);
      expect(ok.headers["content-type"]).toBe("application/json; charset=utf-8");
      sameAnswer(ok.body, (await svc.predict("toy_request", { user_id: "u02", amount: 3 })).body);
      const bad = await app.inject({ method: "POST", url: "/v1/models/toy_request/predict", payload: { instances: [{ user_id: "u02", amount: "x" }] } });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.issues[0].path).toEqual(["instances", 0, "amount"]);
    } finally {
      await app.close();
    }
  });

  it("the log lines of text answers are the entries' JSON", async () => {
    await svc.predict("toy_request", { instances: [{ user_id: "u03", amount: 1 }, { user_id: "u04", amount: 2 }] }, { text: true });
    await svc.log!.flush();
    const dir = join(toy.logsDir, "toy_request");
    const lines = readdirSync(dir).flatMap((f) => readFileSync(join(dir, f), "utf8").trimEnd().split("\n"));
    expect(lines.length).toBeGreaterThan(2);
    for (const line of lines) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      expect(line).toBe(JSON.stringify(entry));
      expect(Object.keys(entry)).toEqual(["v", "id", "ts", "model", "version", "request", "features", "feature_times", "odts", "prediction", "proc", "seq"]);
    }
  });
});
