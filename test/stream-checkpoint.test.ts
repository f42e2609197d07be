// Bounded restart: a stream's state is checkpointed (runtime/stream/checkpoint.ts)
// and a restart reads the checkpoint and replays only the segment lines after
// it. The restarted state must equal a rebuild from the whole history; a
// corrupt, truncated, mismatched or out-of-date checkpoint must fall back to
// that rebuild with its reason, never give another value.

import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { deserialize, serialize } from "node:v8";
import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import type { Scalar, SpecBundle } from "../runtime/api.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import { ident, sqlType } from "../runtime/store/sql.ts";
import { bodyReader, checkpointFiles, readCheckpoint, SliceScale, writeCheckpoint } from "../runtime/stream/checkpoint.ts";
import { FrameAssembler, FrameCutter, type RowsFrame } from "../runtime/stream/checkpoint-frames.ts";
import type { StreamUpdate } from "../runtime/stream/engine.ts";
import { readSegmentLines, streamDir } from "../runtime/stream/segments.ts";
import { withTypedStreamEvents } from "../runtime/features/stream-input.ts";
import { StreamService } from "../runtime/stream/service.ts";
import { mulberry32 } from "../runtime/random.ts";

const { spec } = (await import("../generated/athlete/index.ts")) as { spec: SpecBundle };
const plan = spec.sources.find((s) => s.name === "activities")!;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 5, 1);
// No timer: the test decides when a checkpoint is written.
process.env.FTI_STREAM_CHECKPOINT_MS = "0";
const dirs: string[] = [];
const stores: Store[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function activity(rnd: () => number, id: string, at: number) {
  const km = Math.round((3 + rnd() * 12) * 4) / 4;
  return {
    activity_id: id, athlete_id: `a${Math.floor(rnd() * 6)}`, started_at: new Date(at).toISOString(), sport: rnd() < 0.2 ? "treadmill" : "run",
    distance_km: km, elapsed_time_s: Math.round(km * (280 + rnd() * 80)), elevation_gain_m: Math.round(rnd() * 200), planned_pace_min_km: 5.4,
    avg_hr: rnd() < 0.2 ? null : Math.round(130 + rnd() * 40), route_id: `r${Math.floor(rnd() * 4)}`,
  };
}

/** A store whose src_activities holds `n` rows of the last 60 days (what a batch run left). */
async function storeWithHistory(n: number, seed: number): Promise<{ store: Store; path: string }> {
  const dir = mkdtempSync(join(tmpdir(), "fti-ckpt-"));
  dirs.push(dir);
  const path = join(dir, "store.duckdb");
  const store = await openStore({ path });
  stores.push(store);
  await store.run(`CREATE TABLE src_activities (${plan.fields.map((f) => `${ident(f.name)} ${sqlType(f.type)}`).join(", ")})`);
  const rnd = mulberry32(seed);
  const rows = Array.from({ length: n }, (_, i) => activity(rnd, `h-${i}`, NOW - 60 * DAY + Math.floor(rnd() * 59 * 24) * HOUR));
  await store.appendRows("src_activities", plan.fields.map((f) => f.name), rows.map((r) => plan.fields.map((f) => (f.name === "started_at" ? new Date(r.started_at) : (r as Record<string, unknown>)[f.name]))));
  return { store, path };
}

/** Live events after the history, out of order within the lateness (1 day), some sent twice. */
function live(n: number, seed: number, from = 0) {
  const rnd = mulberry32(seed);
  return Array.from({ length: n }, (_, i) => activity(rnd, `live-${from + i}`, NOW - 20 * HOUR + (from + i) * 60_000 - Math.floor(rnd() * 5) * HOUR));
}

async function push(svc: StreamService, events: unknown[]) {
  for (let i = 0; i < events.length; i += 7) {
    const r = await svc.ingest("activities", events.slice(i, i + 7), (k) => [k]);
    if (!r.ok) throw new Error(r.message);
  }
}

/** Every entity's row of every group, after a rebuild by a new service (a restart). */
async function restart(store: Store, path: string, bundle = spec) {
  const svc = new StreamService(bundle, path);
  const rows = new Map<string, StreamUpdate>();
  const [report] = await svc.rebuild(store, (u) => rows.set(`${u.group}|${JSON.stringify(u.keys)}`, u));
  return { svc, rows, report };
}

/** The newest checkpoint file of the test's stream. */
const newestCheckpoint = (path: string) => checkpointFiles(streamDir(path, "activities"))[0];

/** A restart with the checkpoints moved aside: the state from the whole history (the reference). */
async function fromHistory(store: Store, path: string) {
  const files = checkpointFiles(streamDir(path, "activities"));
  for (const f of files) renameSync(f, `${f}.aside`);
  try {
    const r = await restart(store, path);
    expect(r.report.from).toBe("history");
    return r;
  } finally {
    for (const f of files) renameSync(`${f}.aside`, f);
  }
}

/** Ints, strings and times exactly; floats to 1e-12 relative (ewma re-scales in the order events came). */
function expectSameRows(a: Map<string, StreamUpdate>, b: Map<string, StreamUpdate>) {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  let compared = 0;
  for (const [k, u] of a) {
    const v = b.get(k)!;
    expect([u.eventMs, u.rowId], k).toEqual([v.eventMs, v.rowId]);
    u.values.forEach((x: Scalar, i) => {
      const y = v.values[i];
      compared++;
      if (typeof x === "number" && typeof y === "number" && !Number.isInteger(x)) expect(Math.abs(x - y), `${k} #${i}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(y)));
      else expect(x, `${k} #${i}`).toEqual(y);
    });
  }
  return compared;
}

describe("stream checkpoints: a restart replays only the events after the checkpoint", () => {
  it("reads the checkpoint and the tail only, and equals a rebuild from the whole history", async () => {
    const { store, path } = await storeWithHistory(3000, 1);
    const first = new StreamService(spec, path);
    await first.rebuild(store, () => {});
    const before = live(400, 2);
    await push(first, [...before, ...before.slice(0, 20)]);
    expect(await first.checkpoint()).toEqual(["activities"]);
    const after = live(37, 3, 400);
    await push(first, after);
    // No close: the process is gone (kill -9); its segment file stays as it was written.

    const resumed = await restart(store, path);
    expect(resumed.report.from).toBe("checkpoint");
    expect(resumed.report.offlineRows).toBe(0);
    expect(resumed.report.segmentEvents).toBe(after.length);
    expect(resumed.report.applied).toBe(after.length);

    expect(checkpointFiles(streamDir(path, "activities"))).toHaveLength(1);
    rmSync(newestCheckpoint(path));
    const full = await restart(store, path);
    expect(full.report).toMatchObject({ from: "history", fallback: "no checkpoint yet", offlineRows: 3000, applied: 3000 + 437 });
    expect(expectSameRows(resumed.rows, full.rows)).toBeGreaterThan(50);
  });

  it("a second restart resumes from the first one's segments too (a new writer's files), and a late event pending in the checkpoint is applied", async () => {
    const { store, path } = await storeWithHistory(500, 4);
    const first = new StreamService(spec, path);
    await first.rebuild(store, () => {});
    await push(first, live(100, 5));
    const late = { ...activity(mulberry32(9), "late-1", NOW - 30 * DAY), athlete_id: "a2" };
    const r = await first.ingest("activities", [late], () => []);
    expect(r.ok && r.result.late).toBe(1);
    await first.checkpoint();
    const second = await restart(store, path);
    expect(second.report).toMatchObject({ from: "checkpoint", segmentEvents: 0, applied: 0 });
    expect(second.report.corrected).toBeGreaterThan(0);
    expectSameRows(second.rows, (await fromHistory(store, path)).rows);
    await push(second.svc, live(50, 6, 100));
    await second.svc.close(); // a clean stop writes a checkpoint
    const third = await restart(store, path);
    expect(third.report).toMatchObject({ from: "checkpoint", segmentEvents: 0, corrected: 0 });
    expectSameRows(third.rows, (await fromHistory(store, path)).rows);
  });

  it("falls back to the whole history, with the reason, for a corrupt, truncated, foreign or out-of-date checkpoint", async () => {
    const { store, path } = await storeWithHistory(800, 7);
    const first = new StreamService(spec, path);
    await first.rebuild(store, () => {});
    await push(first, live(120, 8));
    await first.checkpoint();
    const file = newestCheckpoint(path);
    const good = readFileSync(file);
    rmSync(file);
    const reference = (await restart(store, path)).rows;

    const cases: Array<[string, () => void | Promise<void>, RegExp, SpecBundle?]> = [
      ["a flipped byte", () => writeFileSync(file, Buffer.from(good.map((b, i) => (i === good.length - 40 ? b ^ 0x20 : b)))), /checksum/],
      ["cut short", () => writeFileSync(file, good.subarray(0, good.length - 100)), /truncated/],
      ["cut in its header", () => writeFileSync(file, good.subarray(0, 30)), /header/],
      ["not a checkpoint", () => writeFileSync(file, "hello\n"), /header|not an fti/],
      ["another spec", () => writeFileSync(file, good), /spec changed/, { ...spec, specHash: "other" }],
      ["a file row added since", async () => {
        writeFileSync(file, good);
        await store.appendRows("src_activities", plan.fields.map((f) => f.name), [plan.fields.map((f) => ({ activity_id: "added-1", athlete_id: "a1", started_at: new Date(NOW - 3 * DAY), sport: "run", distance_km: 7, elapsed_time_s: 2100, elevation_gain_m: 3, planned_pace_min_km: 5, avg_hr: 140, route_id: "r1" })[f.name as "sport"])]);
      }, /offline store/],
    ];
    for (const [what, damage, reason, bundle] of cases) {
      await damage();
      const r = await restart(store, path, bundle);
      expect(r.report.from, what).toBe("history");
      expect(r.report.fallback, what).toMatch(reason);
      if (what !== "a file row added since") expectSameRows(r.rows, reference);
      else expect(r.report.offlineRows).toBe(801);
    }
  });
});

describe("the checkpoint's fingerprint of the offline store", () => {
  it("sees a file row with the unique value of an applied event and other values (the batch keeps the file's row), and not the stream's own rows", async () => {
    const { store, path } = await storeWithHistory(600, 21);
    const first = new StreamService(spec, path, { typedEvents: withTypedStreamEvents });
    await first.rebuild(store, () => {});
    const events = live(80, 22);
    await push(first, events);
    await first.checkpoint();
    // What `fti features` does with the segments: their lines kept in the store, the events appended to src_activities.
    await store.run(`CREATE TABLE fti_stream_events (source VARCHAR NOT NULL, file VARCHAR NOT NULL, line INTEGER NOT NULL, text VARCHAR NOT NULL, kept_at TIMESTAMP NOT NULL)`);
    const lines = readSegmentLines(streamDir(path, "activities"));
    expect(lines.length).toBe(80);
    await store.appendRows("fti_stream_events", ["source", "file", "line", "text", "kept_at"], lines.map((l) => ["activities", basename(l.file), l.line, l.text, new Date()]));
    await store.appendRows("src_activities", plan.fields.map((f) => f.name), events.map((e) => plan.fields.map((f) => (f.name === "started_at" ? new Date(e.started_at) : (e as Record<string, unknown>)[f.name]))));
    const typedRestart = async () => {
      const svc = new StreamService(spec, path, { typedEvents: withTypedStreamEvents });
      const rows = new Map<string, StreamUpdate>();
      const [report] = await svc.rebuild(store, (u) => rows.set(`${u.group}|${JSON.stringify(u.keys)}`, u));
      return { rows, report };
    };
    // The stream's own rows in the offline store: the checkpoint still fits.
    expect((await typedRestart()).report.from).toBe("checkpoint");

    // A file now holds event live-7 with another distance: the batch's row is the file's.
    await store.run(`UPDATE src_activities SET distance_km = distance_km + 7 WHERE activity_id = 'live-7'`);
    const again = await typedRestart();
    expect(again.report.from).toBe("history");
    expect(again.report.fallback).toMatch(/offline store/);
    expectSameRows(again.rows, (await fromHistory(store, path)).rows);
    // Without the typed events (the unique value alone), the fingerprint is blind to it.
    expect((await restart(store, path)).report.from).toBe("checkpoint");
  });
});

describe("a checkpoint taken while events keep arriving", () => {
  it("covers exactly the events before it: a restart from it replays the rest and equals a rebuild from the whole history", async () => {
    const { store, path } = await storeWithHistory(1000, 11);
    const first = new StreamService(spec, path);
    await first.rebuild(store, () => {});
    // Many athletes: the state is read in many slices, events are applied between them.
    const many = (n: number, seed: number, from: number) => live(n, seed, from).map((e, i) => ({ ...e, athlete_id: `m${(from + i) % 900}` }));
    await push(first, many(3000, 12, 0));
    const during = many(400, 13, 3000);
    const [written] = await Promise.all([first.checkpoint(true), push(first, during)]);
    expect(written).toEqual(["activities"]);
    const header = readCheckpoint(streamDir(path, "activities"), "activities", `${spec.specHash}:${spec.transformsHash}`);
    expect(header.ok).toBe(true);
    const inCheckpoint = header.ok ? header.header.events : 0;
    // The checkpoint took the gate first: its state is the 1,000 + 3,000 events before; the 400 were applied while it was read and written.
    expect(inCheckpoint).toBe(1000 + 3000);

    const resumed = await restart(store, path);
    expect(resumed.report.from).toBe("checkpoint");
    expect(resumed.report.applied).toBe(400);
    expectSameRows(resumed.rows, (await fromHistory(store, path)).rows);
  });
});

/** Entities as the engine holds them: rows `{ t, id, args }` whose arguments are numbers (-0, NaN, ±Infinity), null, strings, booleans and Dates, the latest row one of them (or not). */
function entitiesFor(n: number, maxRows: number, seed: number) {
  const rand = mulberry32(seed);
  const arg = () => {
    const r = rand();
    return r < 0.5 ? rand() * 100 : r < 0.6 ? null : r < 0.65 ? -0 : r < 0.68 ? NaN : r < 0.7 ? -Infinity : r < 0.8 ? "x".repeat(Math.floor(rand() * 80)) : r < 0.9 ? rand() < 0.5 : new Date(Math.floor(rand() * 1e12));
  };
  return Array.from({ length: n }, (_, i) => {
    const rows = Array.from({ length: Math.floor(rand() * maxRows) }, (_, k) => ({ t: k * 1000, id: rand() < 0.5 ? `r${i}-${k}` : i * 1e6 + k, args: Array.from({ length: 3 }, arg) }));
    const latest = rows.length && rand() < 0.8 ? rows[Math.floor(rand() * rows.length)] : { t: -1, id: `x${i}`, args: [] };
    return { key: `e${i}`, keys: [`e${i}`], latest, latestRow: { id: `x${i}`, v: rand() }, rows, starts: [0], ewma: [{ num: rand(), den: 1, anchor: i }] };
  });
}

describe("a checkpoint larger than one flush group", () => {
  it("is written in flushed groups and reads back whole and exact, its hash the body's", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fti-cp-big-"));
    try {
      // ~10 MB of rows: many flush groups (1 MB), frames of many sizes, and entities of more rows than one frame holds.
      const entities = [...entitiesFor(3_000, 60, 7), ...entitiesFor(3, 30_000, 8)];
      const body = { admission: { watermark: 5, seen: [["u1", 4] as [string, number]] }, late: [], state: { groups: [{ name: "g", entities }, { name: "empty", entities: [] }] } };
      const header = { source: "s", spec: "spec-id", offline: { rows: 0, hash: "none" }, segments: {}, events: 1, writtenAt: new Date(0).toISOString() };
      const { bytes } = await writeCheckpoint(dir, header as never, bodyReader(body as never));
      expect(bytes).toBeGreaterThan(4 << 20);
      const back = readCheckpoint(dir, "s", "spec-id");
      expect(back.ok).toBe(true);
      if (!back.ok) return;
      expect(back.body).toEqual(body);
      // Exactly: -0 stays -0, and the latest row is the same object as its row (as the engine holds it).
      const got = back.body.state.groups[0].entities;
      entities.forEach((e, i) => {
        const at = e.rows.indexOf(e.latest);
        if (at >= 0) expect(got[i].latest).toBe(got[i].rows[at]);
        e.rows.forEach((r, k) => r.args.forEach((a, j) => expect(Object.is(got[i].rows[k].args[j], a) || (a instanceof Date && (got[i].rows[k].args[j] as Date).getTime() === a.getTime())).toBe(true)));
      });
      expect(readFileSync(checkpointFiles(dir)[0]).length).toBe(bytes);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the checkpoint's row frames", () => {
  it("hold at most their row budget, cut an entity of more rows across frames, and put every entity back as it was", () => {
    const entities = [...entitiesFor(50, 40, 3), ...entitiesFor(2, 2_000, 4), ...entitiesFor(30, 0, 5)];
    const reader = bodyReader({ admission: { watermark: 0, seen: [] }, late: [], state: { groups: [{ name: "g", entities }] } } as never).groups[0].reader;
    const cutter = new FrameCutter((e, r) => reader.next(e, r));
    const assembler = new FrameAssembler();
    let frames = 0;
    for (let f = cutter.next(100); f !== null; f = cutter.next(100)) {
      frames++;
      expect(f.t.length).toBeLessThanOrEqual(100);
      assembler.add(deserialize(serialize(f)) as RowsFrame);
    }
    const rows = entities.reduce((n, e) => n + e.rows.length, 0);
    expect(frames).toBeGreaterThanOrEqual(Math.ceil(rows / 100));
    expect(cutter.entitiesRead).toBe(entities.length);
    expect(assembler.done()).toEqual(entities);
  });

  it("a checkpoint of version 3 (entities as objects) is still read", () => {
    const dir = mkdtempSync(join(tmpdir(), "fti-cp-v3-"));
    try {
      const entities = entitiesFor(20, 30, 11);
      const frames = [{ watermark: 9, late: [], groups: [{ name: "g", count: entities.length }] }, { k: ["u1"], t: [8] }, { k: [], t: [] }, entities.slice(0, 7), entities.slice(7)].map((v) => {
        const bytes = serialize(v);
        const len = Buffer.alloc(4);
        len.writeUInt32LE(bytes.length);
        return Buffer.concat([len, bytes]);
      });
      const body = Buffer.concat(frames);
      const header = { magic: "fti-stream-checkpoint", version: 3, source: "s", spec: "spec-id", offline: { rows: 0, hash: "none" }, segments: {}, events: 1, writtenAt: new Date(0).toISOString(), seq: 1, body: { bytes: body.length, sha256: createHash("sha256").update(body).digest("hex") } };
      writeFileSync(join(dir, "checkpoint.a"), Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), body]));
      const back = readCheckpoint(dir, "s", "spec-id");
      expect(back.ok && back.body).toEqual({ admission: { watermark: 9, seen: [["u1", 8]] }, late: [], state: { groups: [{ name: "g", entities }] } });
      writeFileSync(join(dir, "checkpoint.a"), Buffer.concat([Buffer.from(`${JSON.stringify({ ...header, version: 2 })}\n`), body]));
      expect(readCheckpoint(dir, "s", "spec-id")).toMatchObject({ ok: false, reason: expect.stringMatching(/version 2, this fti reads versions 3 and 4/) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuse frames cut short or holding rows of no entity", () => {
    const entities = entitiesFor(5, 30, 9).filter((e) => e.rows.length > 0);
    const reader = bodyReader({ admission: { watermark: 0, seen: [] }, late: [], state: { groups: [{ name: "g", entities }] } } as never).groups[0].reader;
    const cutter = new FrameCutter((e, r) => reader.next(e, r));
    const frames: RowsFrame[] = [];
    for (let f = cutter.next(10); f !== null; f = cutter.next(10)) frames.push(f);
    const short = new FrameAssembler();
    for (const f of frames.slice(0, -1)) short.add(f);
    expect(() => short.done()).toThrow(/rows/);
    const extra = new FrameAssembler();
    for (const f of frames) extra.add(f);
    expect(() => extra.add({ ...frames[0], e: [] })).toThrow(/no entity/);
  });
});

describe("checkpoints asked for faster than they are written", () => {
  it("never pile up: calls while one runs share one checkpoint after it (forced when any of them asked so)", async () => {
    const { store, path } = await storeWithHistory(600, 21);
    const svc = new StreamService(spec, path);
    await svc.rebuild(store, () => {});
    await push(svc, live(200, 22));
    const first = svc.checkpoint(true);
    const followers = [svc.checkpoint(), svc.checkpoint(true), svc.checkpoint(), svc.checkpoint(true), svc.checkpoint()];
    expect(new Set(followers).size).toBe(1); // one shared follow-up
    const written = await Promise.all([first, ...followers]);
    expect(written.every((w) => w.length === 1 && w[0] === "activities")).toBe(true);
    expect(svc.stats()[0].checkpoints).toBe(2);
    // Not forced: the follow-up finds no events since the first and writes nothing.
    const again = svc.checkpoint(true);
    const idle = svc.checkpoint();
    expect(await again).toEqual(["activities"]);
    expect(await idle).toEqual([]);
    expect(svc.stats()[0].checkpoints).toBe(3);
    const cp = readCheckpoint(streamDir(path, "activities"), "activities", `${spec.specHash}:${spec.transformsHash}`);
    expect(cp.ok && cp.header.events).toBe(600 + 200);
  });
});

describe("the checkpoint's slice size", () => {
  it("shrinks after a slice slower than its target and grows after a faster one, within its bounds", () => {
    const s = new SliceScale(1, 0.1, 2);
    s.took(30); // ten times the target: halved at most per slice
    expect(s.value).toBe(0.5);
    for (let i = 0; i < 20; i++) s.took(1000);
    expect(s.value).toBe(0.1);
    expect(s.of(200)).toBe(20);
    for (let i = 0; i < 20; i++) s.took(0.1);
    expect(s.value).toBe(2);
    expect(new SliceScale(0.001, 0.001, 1).of(200)).toBe(1);
  });
});

describe("the two checkpoint files", () => {
  const header = (events: number) => ({ source: "s", spec: "spec-id", offline: { rows: 0, hash: "none" }, segments: {}, events, writtenAt: new Date(0).toISOString() });
  const body = (n: number) => ({ admission: { watermark: n, seen: [[`u${n}`, n] as [string, number]] }, late: [], state: { groups: [{ name: "g", entities: [] }] } });

  it("take turns, each overwritten in place (same inode: no file freed, none renamed over), and the newest whole one is read", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fti-cp-slots-"));
    try {
      const files: string[] = [];
      for (let n = 1; n <= 4; n++) files.push((await writeCheckpoint(dir, header(n) as never, bodyReader(body(n) as never))).file);
      expect(files.map((f) => basename(f))).toEqual(["checkpoint.a", "checkpoint.b", "checkpoint.a", "checkpoint.b"]);
      const back = readCheckpoint(dir, "s", "spec-id");
      expect(back.ok && [back.header.events, back.header.seq]).toEqual([4, 4]);
      const inode = statSync(files[0]).ino;
      await writeCheckpoint(dir, header(5) as never, bodyReader(body(5) as never));
      expect(statSync(files[0]).ino).toBe(inode);
      expect(checkpointFiles(dir).map((f) => basename(f))).toEqual(["checkpoint.a", "checkpoint.b"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a newer one cut short (a kill while it was written) leaves the one before it in use; one of an earlier fti is read, then replaced", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fti-cp-slots-"));
    try {
      // An earlier fti's single file (no seq in its header): read, and removed once a newer one is written.
      const legacy = (await writeCheckpoint(dir, header(1) as never, bodyReader(body(1) as never))).file;
      const was = readFileSync(legacy);
      const nl = was.indexOf(0x0a);
      writeFileSync(join(dir, "checkpoint"), Buffer.concat([Buffer.from(was.subarray(0, nl).toString("utf8").replace(/"seq":1,/, "")), was.subarray(nl)]));
      rmSync(legacy);
      const fromLegacy = readCheckpoint(dir, "s", "spec-id");
      expect(fromLegacy.ok && [fromLegacy.header.events, fromLegacy.header.seq]).toEqual([1, undefined]);
      await writeCheckpoint(dir, header(2) as never, bodyReader(body(2) as never));
      const second = await writeCheckpoint(dir, header(3) as never, bodyReader(body(3) as never));
      // The newest one's body half overwritten by a next write that never finished.
      const bytes = readFileSync(second.file);
      writeFileSync(second.file, bytes.subarray(0, bytes.length - 10));
      expect(checkpointFiles(dir).map((f) => basename(f))).toEqual(["checkpoint.b", "checkpoint.a"]); // the earlier fti's is gone
      const back = readCheckpoint(dir, "s", "spec-id");
      expect(back.ok && back.header.events).toBe(2);
      // The next write overwrites the torn one (the older by seq is the whole one in use: kept).
      const next = await writeCheckpoint(dir, header(4) as never, bodyReader(body(4) as never));
      expect(next.file).toBe(second.file);
      const after = readCheckpoint(dir, "s", "spec-id");
      expect(after.ok && after.header.events).toBe(4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
