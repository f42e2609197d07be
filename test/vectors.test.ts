// Vector retrieval, point in time: the in-memory index and the offline SQL
// ranking equal a brute-force cosine ranking of the table's rows, and no
// document written at or after the request time is ever returned.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IndexPlan, RetrievedDocument, SpecBundle } from "../runtime/api.ts";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import { MemoryIndex } from "../runtime/vectors/memory-index.ts";
import { searchOffline } from "../runtime/vectors/offline.ts";
import { embedQuery } from "../runtime/vectors/query.ts";
import { OnlineIndexes } from "../runtime/vectors/online.ts";
import { compileTempSpec, type TempSpec } from "./helpers/temp-spec.ts";
import { mulberry32 } from "../runtime/random.ts";

const SPEC = `
source notes {
  path "notes.csv"
  event_time written_at
  unique note_id
  fields {
    note_id: string
    athlete_id: string
    written_at: timestamp
    text: string?
  }
}
entity athlete { key athlete_id: string }
feature_group coach_notes for athlete from notes {
  note = text
  embedding = embed(text, 32)
}
index notes_by_athlete on coach_notes(embedding) for athlete
index all_notes on coach_notes(embedding)
`;

const WORDS = ["easy", "tempo", "interval", "hill", "long", "run", "legs", "tired", "fresh", "knee", "pace", "race", "rain", "heat", "sleep"];
const T0 = Date.UTC(2025, 0, 1);
const HOUR = 3_600_000;

/** Notes at random times (some at the same instant, some without text), random words. */
function notesCsv(seed: number, n: number): string {
  const rnd = mulberry32(seed);
  const lines = ["note_id,athlete_id,written_at,text"];
  for (let i = 0; i < n; i++) {
    const t = T0 + Math.floor(rnd() * 60 * 24) * HOUR;
    const words = Array.from({ length: 1 + Math.floor(rnd() * 6) }, () => WORDS[Math.floor(rnd() * WORDS.length)]);
    const text = rnd() < 0.05 ? "" : words.join(" ");
    lines.push(`n${String(i).padStart(4, "0")},a${Math.floor(rnd() * 5)},${new Date(t).toISOString()},${text}`);
  }
  return lines.join("\n") + "\n";
}

interface Row { id: string; athlete: string; t: number; v: number[] }

function bruteForce(rows: Row[], q: Float32Array, at: number, athlete: string | null, k: number): Array<{ id: string; score: number }> {
  const qn = Math.sqrt(Array.from(q).reduce((s, x) => s + x * x, 0));
  return rows
    .filter((r) => r.t < at && (athlete === null || r.athlete === athlete))
    .map((r) => {
      const n = Math.sqrt(r.v.reduce((s, x) => s + x * x, 0));
      const dot = r.v.reduce((s, x, j) => s + x * q[j], 0);
      return { id: r.id, t: r.t, score: n > 0 && qn > 0 ? dot / (n * qn) : 0 };
    })
    .sort((a, b) => b.score - a.score || b.t - a.t || (a.id < b.id ? -1 : 1))
    .slice(0, k)
    .map(({ id, score }) => ({ id, score }));
}

/** Same ids in the same order, scores equal to 1e-9 (a tie within that may come in either order). */
function expectSameRanking(actual: RetrievedDocument[], expected: Array<{ id: string; score: number }>, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  actual.forEach((d, i) => {
    expect(Math.abs(d.score - expected[i].score), `${what} #${i}`).toBeLessThan(1e-9);
    if (d.id !== expected[i].id) expect(Math.abs(expected[i].score - d.score), `${what}: ${d.id} vs ${expected[i].id}`).toBeLessThan(1e-9);
  });
  expect(new Set(actual.map((d) => d.id)).size, what).toBe(actual.length);
}

describe("vector retrieval, point in time", () => {
  let spec: TempSpec;
  let store: Store;
  let rows: Row[];
  let plans: Record<string, IndexPlan>;
  let memory: Record<string, MemoryIndex>;
  beforeAll(async () => {
    spec = await compileTempSpec({ "spec.fti": SPEC, "notes.csv": notesCsv(11, 400) });
    store = await openStore({ path: ":memory:" });
    await runFeaturePipeline(store, spec.bundle);
    const raw = await store.all<{ note_id: string; athlete_id: string; event_time: Date; embedding: number[] }>(
      "SELECT note_id, athlete_id, event_time, embedding FROM fg_coach_notes_v1 WHERE embedding IS NOT NULL",
    );
    rows = raw.map((r) => ({ id: r.note_id, athlete: r.athlete_id, t: r.event_time.getTime(), v: r.embedding }));
    plans = Object.fromEntries((spec.bundle.indexes ?? []).map((p) => [p.name, p]));
    memory = {};
    for (const p of Object.values(plans)) memory[p.name] = await MemoryIndex.load(store, p);
  }, 60_000);
  afterAll(async () => {
    await store.close();
    spec.cleanup();
  });

  it("loads every document with a vector", () => {
    expect(rows.length).toBeGreaterThan(300);
    expect(memory.all_notes.size).toBe(rows.length);
  });

  it("top-k online and offline equals a brute-force cosine ranking", async () => {
    const rnd = mulberry32(5);
    for (let trial = 0; trial < 40; trial++) {
      const text = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => WORDS[Math.floor(rnd() * WORDS.length)]).join(" ");
      const at = new Date(T0 + Math.floor(rnd() * 62 * 24) * HOUR);
      const k = 1 + Math.floor(rnd() * 12);
      const athlete = `a${Math.floor(rnd() * 6)}`; // a5 has no notes
      for (const name of ["notes_by_athlete", "all_notes"]) {
        const plan = plans[name];
        const q = await embedQuery(spec.bundle, plan, text, {});
        const opts = { at, k, entity: { athlete_id: athlete } };
        const expected = bruteForce(rows, q, at.getTime(), plan.entity ? athlete : null, k);
        const what = `${name} "${text}" at ${at.toISOString()} k=${k} ${athlete}`;
        expectSameRanking(memory[name].search(q, opts), expected, `memory ${what}`);
        expectSameRanking(await searchOffline(store, plan, q, opts), expected, `offline ${what}`);
      }
    }
  });

  it("never returns a document written at or after the request time (random write and request times)", async () => {
    const rnd = mulberry32(99);
    const times = new Map(rows.map((r) => [r.id, r.t]));
    for (let trial = 0; trial < 200; trial++) {
      // Request times on and around write instants: the boundary is where a leak would be.
      const base = rows[Math.floor(rnd() * rows.length)].t;
      const at = new Date(base + [0, -1, 1, HOUR, -HOUR][Math.floor(rnd() * 5)]);
      const plan = plans[rnd() < 0.5 ? "notes_by_athlete" : "all_notes"];
      const athlete = `a${Math.floor(rnd() * 5)}`;
      const q = await embedQuery(spec.bundle, plan, WORDS[Math.floor(rnd() * WORDS.length)], {});
      const k = 100;
      const eligible = rows.filter((r) => r.t < at.getTime() && (!plan.entity || r.athlete === athlete)).length;
      const online = memory[plan.name].search(q, { at, k, entity: { athlete_id: athlete } });
      expect(online.length).toBe(Math.min(k, eligible));
      for (const d of online) {
        expect(times.get(d.id)!).toBeLessThan(at.getTime());
        expect(Date.parse(d.eventTime)).toBeLessThan(at.getTime());
        if (plan.entity) expect(d.keys.athlete_id).toBe(athlete);
      }
      if (trial % 10 === 0) {
        const offline = await searchOffline(store, plan, q, { at, k, entity: { athlete_id: athlete } });
        expect(offline.map((d) => d.id).sort()).toEqual(online.map((d) => d.id).sort());
      }
    }
  });

  it("returns the document's fields and keys, and refuses a missing entity key or a bad k", async () => {
    const plan = plans.notes_by_athlete;
    const q = await embedQuery(spec.bundle, plan, "tempo run", {});
    const [d] = memory.notes_by_athlete.search(q, { at: new Date(T0 + 90 * 24 * HOUR), k: 1, entity: { athlete_id: "a1" } });
    const row = await store.all<{ note: string }>("SELECT note FROM fg_coach_notes_v1 WHERE note_id = ?", [d.id]);
    expect(d.fields).toEqual({ note: row[0].note });
    expect(d.keys).toEqual({ athlete_id: "a1" });
    expect(() => memory.notes_by_athlete.search(q, { at: new Date(), k: 1 })).toThrow(/needs its key `athlete_id`/);
    expect(() => memory.all_notes.search(q, { at: new Date(), k: 0 })).toThrow(/k must be a whole number from 1 to 100/);
    await expect(searchOffline(store, plan, q, { at: new Date(), k: 101, entity: { athlete_id: "a1" } })).rejects.toThrow(/k must be/);
  });

  it("the online route answers 503 while an index cannot serve: no embeddings endpoint for its model, or no documents loaded", async () => {
    const endpointPlan = { ...plans.all_notes, embedder: { kind: "embed" as const, model: "nomic-embed-text" } };
    const noEndpoint = new OnlineIndexes({ ...spec.bundle, indexes: [endpointPlan] }, {});
    const r = await noEndpoint.handle("all_notes", { query: "tempo" }, new Date());
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ error: { code: "embedding_not_configured", message: expect.stringMatching(/FTI_EMBED_URL/) } });
    const notLoaded = new OnlineIndexes(spec.bundle, {});
    expect((await notLoaded.handle("all_notes", { query: "tempo" }, new Date())).status).toBe(503);
  });

  it("an extern embedding that throws or returns another length for a query is a user error naming the fn", async () => {
    const plan = { ...plans.all_notes, embedder: { kind: "extern" as const, fn: "my_embed" } };
    type Extern = SpecBundle["externs"][string];
    const bundle = (fn: Extern): SpecBundle => ({ ...spec.bundle, externs: { ...spec.bundle.externs, my_embed: fn } });
    await expect(embedQuery(bundle(() => { throw new Error("model not loaded"); }), plan, "x", {})).rejects.toMatchObject({
      name: "UserError",
      message: expect.stringMatching(/extern fn `my_embed` failed on the query of index `all_notes`: model not loaded/),
    });
    await expect(embedQuery(bundle(() => [1, 2]), plan, "x", {})).rejects.toMatchObject({ name: "UserError", message: expect.stringMatching(/did not return \d+ finite numbers/) });
    expect(Array.from(await embedQuery(bundle(() => new Array(plan.dim).fill(0.5)), plan, "x", {}))).toEqual(new Array(plan.dim).fill(0.5));
  });
});
