// The events route's node:http path (runtime/online/fast-events.ts) against
// Fastify's: two servers over two copies of the same athlete store (a stream
// has one writer per store), one with the fast path, one without; the same
// requests in the same order get the same status, content type and body from
// both, the fast path takes exactly the plain requests, and afterwards both
// servers hold the same segment lines and serve the same features.

import { cpSync, rmSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../runtime/online/http.ts";
import { readSegmentLines, streamDir } from "../runtime/stream/segments.ts";
import { buildAthleteWork, type AthleteWork } from "./helpers/online-athlete.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.now();
const TOKEN = "a-token-of-sixteen-chars-or-more";
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

let work: AthleteWork;
let copyRoot: string;
let fast: RunningServer;
let slow: RunningServer;

interface Req {
  path?: string;
  body: string | Buffer;
  headers?: Record<string, string>;
  /** Sent with Transfer-Encoding: chunked (no Content-Length), in two pieces. */
  chunked?: boolean;
}
interface Answer {
  status: number;
  type: string | undefined;
  body: string;
}

const EVENTS = "/v1/sources/activities/events";

function send(url: string, r: Req): Promise<Answer> {
  const u = new URL(url);
  return new Promise((done, fail) => {
    const bytes = Buffer.from(r.body);
    const headers: Record<string, string | number> = { "content-type": "application/json", ...r.headers };
    if (!r.chunked) headers["content-length"] = bytes.length;
    const req = request({ host: u.hostname, port: u.port, method: "POST", path: r.path ?? EVENTS, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => done({ status: res.statusCode!, type: res.headers["content-type"], body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", fail);
    if (r.chunked) {
      req.write(bytes.subarray(0, 5));
      req.end(bytes.subarray(5));
    } else req.end(bytes);
  });
}

/** Sends `r` to both servers (the fast one first); their answers must be equal. */
async function compare(r: Req): Promise<{ answer: Answer; tookFast: boolean }> {
  const before = fast.fastEvents!.answered;
  const a = await send(fast.url, r);
  const tookFast = fast.fastEvents!.answered > before;
  const b = await send(slow.url, r);
  expect(a, `${r.path ?? EVENTS} ${String(r.body).slice(0, 120)}`).toEqual(b);
  return { answer: a, tookFast };
}

let n = 0;
function activity(over: Record<string, unknown> = {}): Record<string, unknown> {
  n++;
  const km = 4 + (n % 9);
  return {
    activity_id: `fast-${n}`,
    athlete_id: work.athletes[n % work.athletes.length],
    started_at: new Date(T0 - 2 * DAY + n * 60_000).toISOString(),
    sport: "run",
    distance_km: km,
    elapsed_time_s: km * 320,
    elevation_gain_m: 10 * (n % 5),
    planned_pace_min_km: 5.1,
    avg_hr: n % 3 === 0 ? null : 145,
    route_id: `r${n % 3}`,
    ...over,
  };
}
const ndjson = (events: unknown[]) => events.map((e) => JSON.stringify(e)).join("\n") + "\n";

// No background correction of late events (FTI_STREAM_CORRECT_MS=0): the late event stays marked in both servers until a reload: a background correction ~1 s later would run in each at its own moment.
const savedCorrectMs = process.env.FTI_STREAM_CORRECT_MS;
beforeAll(async () => {
  process.env.FTI_STREAM_CORRECT_MS = "0";
  work = await buildAthleteWork({ athletes: 4, days: 120 });
  copyRoot = `${work.root}-copy`;
  cpSync(work.root, copyRoot, { recursive: true });
  const base = { port: 0, watch: false, logger: quiet, now: () => T0 };
  fast = await startServer(work.bundle, { ...base, store: work.storePath, logs: join(work.root, ".fti/logs") });
  const copyStore = join(copyRoot, work.storePath.slice(work.root.length));
  slow = await startServer(work.bundle, { ...base, store: copyStore, logs: join(copyRoot, ".fti/logs"), fastEvents: false });
}, 300_000);

afterAll(async () => {
  if (savedCorrectMs === undefined) delete process.env.FTI_STREAM_CORRECT_MS;
  else process.env.FTI_STREAM_CORRECT_MS = savedCorrectMs;
  for (const s of [fast, slow]) await s?.close();
  work?.cleanup();
  if (copyRoot) rmSync(copyRoot, { recursive: true, force: true });
});

describe("the events route on node:http", () => {
  it("is on by default and off on request", () => {
    expect(fast.fastEvents).not.toBeNull();
    expect(slow.fastEvents).toBeNull();
  });

  it("answers plain requests itself, exactly as Fastify does: events, batches, NDJSON, duplicates, late events, every refusal", async () => {
    const first = activity();
    const notUtf8 = Buffer.concat([Buffer.from(`[${JSON.stringify(activity()).slice(0, -1)}, "note": "`), Buffer.from([0xff]), Buffer.from('"}]')]);
    const plain: Array<[Req, number]> = [
      [{ body: JSON.stringify(first) }, 200], // one event
      [{ body: JSON.stringify([activity(), activity(), activity()]) }, 200], // a batch
      [{ body: JSON.stringify(first) }, 200], // a duplicate
      [{ body: JSON.stringify([activity(), first]) }, 200], // a new event and a duplicate
      [{ body: ndjson([activity(), activity()]), headers: { "content-type": "application/x-ndjson" } }, 200],
      [{ body: ndjson([activity()]), headers: { "content-type": "application/jsonl" } }, 200],
      [{ body: ndjson([activity()]), headers: { "content-type": "application/json-seq; charset=utf-8" } }, 200],
      [{ body: `\n${ndjson([activity()])}\n\n`, headers: { "content-type": "Application/X-NDJSON" } }, 200], // blank lines skipped
      [{ body: JSON.stringify(activity({ started_at: new Date(T0 - 30 * DAY).toISOString() })) }, 200], // late (lateness 1d)
      [{ body: JSON.stringify(activity({ activity_id: "ünïcødé ✓ 𝄞" })) }, 200], // multi-byte UTF-8
      [{ body: JSON.stringify(activity()), headers: { "content-type": "application/json; charset=utf-8" } }, 200],
      // invalid events: the whole request is refused, every problem listed with its path
      [{ body: JSON.stringify([activity(), activity({ distance_km: "far", extra: 1 }), activity({ sport: "swim", athlete_id: null })]) }, 400],
      [{ body: JSON.stringify(activity({ started_at: "yesterday" })) }, 400],
      [{ body: JSON.stringify(activity({ distance_km: -3 })) }, 400], // fails a check
      [{ body: ndjson([activity(), activity({ elapsed_time_s: true })]), headers: { "content-type": "application/x-ndjson" } }, 400],
      [{ body: "[]" }, 400],
      [{ body: "null" }, 400],
      [{ body: '"text"' }, 400],
      [{ body: "\n\n", headers: { "content-type": "application/x-ndjson" } }, 400],
      [{ body: '[{"activity_id": "x",' }, 400], // malformed JSON
      [{ body: `${JSON.stringify(activity())}\n{"broken": `, headers: { "content-type": "application/x-ndjson" } }, 400],
      [{ body: `[${JSON.stringify(activity()).slice(0, -1)}, "__proto__": {"x": 1}}]` }, 400],
      [{ body: notUtf8 }, 400],
      [{ path: "/v1/sources/nope/events", body: JSON.stringify(activity()) }, 404],
      [{ path: "/v1/sources/profiles/events", body: JSON.stringify({ x: 1 }) }, 404], // a source, but not a stream
    ];
    const statuses: number[] = [];
    for (const [r, status] of plain) {
      const { answer, tookFast } = await compare(r);
      expect(tookFast, String(r.body).slice(0, 120)).toBe(true);
      expect(answer.type).toBe("application/json; charset=utf-8");
      expect(answer.status, `${answer.body.slice(0, 300)}`).toBe(status);
      statuses.push(answer.status);
    }
    const dup = JSON.parse((await compare({ body: JSON.stringify([activity(), first]) })).answer.body);
    expect([dup.accepted, dup.duplicates]).toEqual([1, 1]);
    const bad = JSON.parse((await compare({ body: JSON.stringify([activity(), activity({ distance_km: "far" })]) })).answer.body);
    expect(bad.error.issues.map((i: { path: unknown[] }) => i.path)).toEqual([[1, "distance_km"]]);
  });

  it("leaves everything else to Fastify: chunked and large bodies, other media types, query strings, other paths, refusals", async () => {
    const one = JSON.stringify(activity());
    const big = JSON.stringify(Array.from({ length: 400 }, () => activity()));
    expect(big.length).toBeGreaterThan(64 * 1024);
    const others: Array<[Req, number]> = [
      [{ body: JSON.stringify(activity()), chunked: true }, 200],
      [{ body: big }, 200],
      [{ body: JSON.stringify({ pad: "x".repeat(1024 * 1024) }) }, 413],
      [{ body: one, headers: { "content-type": "text/plain" } }, 415],
      [{ body: JSON.stringify(activity()), headers: { "content-type": "application/json; charset=latin1" } }, 200],
      [{ path: `${EVENTS}?x=1`, body: JSON.stringify(activity()) }, 200],
      [{ path: `${EVENTS}/`, body: one }, 404],
      [{ body: one, headers: { origin: "http://evil.example" } }, 403],
      [{ path: "/v1/sources/activit%69es/events", body: JSON.stringify(activity()) }, 200],
      [{ body: "" }, 400],
    ];
    for (const [r, status] of others) {
      const { answer, tookFast } = await compare(r);
      expect(tookFast, `${r.path ?? EVENTS} ${JSON.stringify(r.headers ?? {})}`).toBe(false);
      expect(answer.status, `${r.path ?? EVENTS} ${answer.body.slice(0, 200)}`).toBe(status);
    }
  });

  it("leaves both servers with the same segment lines and the same served features", async () => {
    const lines = (store: string) =>
      readSegmentLines(streamDir(store, "activities"))
        .map((l) => l.text)
        .sort();
    const fastLines = lines(work.storePath);
    expect(fastLines.length).toBeGreaterThan(400);
    expect(fastLines).toEqual(lines(join(copyRoot, work.storePath.slice(work.root.length))));
    for (const athlete of work.athletes) {
      const body = JSON.stringify({ athlete_id: athlete, planned_pace_min_km: 5.2, distance_km: 10, elevation_gain_m: 80 });
      const path = "/v1/models/time_estimator/predict";
      const [a, b] = [await send(fast.url, { path, body }), await send(slow.url, { path, body })];
      expect(a.status).toBe(200);
      const served = (x: Answer) => {
        const j = JSON.parse(x.body);
        return { features: j.features, times: j.feature_times, prediction: j.prediction, late: j.late_events };
      };
      expect(served(a)).toEqual(served(b));
    }
  });
});

describe("the events route on node:http with API tokens", () => {
  it("a request without the token is Fastify's 401; one with it is answered on node:http", async () => {
    const tokens = { access: { apiTokens: [TOKEN] } };
    await fast.close();
    await slow.close();
    const base = { port: 0, watch: false, logger: quiet, now: () => T0 };
    fast = await startServer(work.bundle, { ...base, ...tokens, store: work.storePath, logs: join(work.root, ".fti/logs") });
    slow = await startServer(work.bundle, { ...base, ...tokens, store: join(copyRoot, work.storePath.slice(work.root.length)), logs: join(copyRoot, ".fti/logs"), fastEvents: false });
    const refused = await compare({ body: JSON.stringify(activity()) });
    expect([refused.answer.status, refused.tookFast]).toEqual([401, false]);
    const allowed = await compare({ body: JSON.stringify(activity()), headers: { authorization: `Bearer ${TOKEN}` } });
    expect([allowed.answer.status, allowed.tookFast]).toEqual([200, true]);
  }, 120_000);
});
