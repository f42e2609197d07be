// Vector retrieval, point in time: the in-memory index of `fti serve`
// (runtime/vectors/memory-index.ts) against the offline SQL ranking
// (runtime/vectors/offline.ts, DuckDB array_cosine_similarity) over the same
// documents: 1,000,000 embedded rows of dimension 256 (--quick: 20,000).
// Per query: latency p50/p99 of the online index (all documents, and one
// entity's), and of the SQL ranking; both return the same documents (checked).
// Measured in the parent process, one query at a time.

import { join } from "node:path";
import type { IndexPlan } from "../../runtime/api.ts";
import { mulberry32 } from "../../runtime/random.ts";
import { openStore } from "../../runtime/store/store.ts";
import { MemoryIndex } from "../../runtime/vectors/memory-index.ts";
import { searchOffline } from "../../runtime/vectors/offline.ts";
import { fmtInt, fmtMs } from "../lib/harness.ts";
import type { Measured } from "../lib/report.ts";
import type { Ctx, Suite } from "../lib/suite.ts";

const S = "retrieval";
const DIM = 256;
const ENTITIES = 1000;
const T0 = Date.UTC(2024, 0, 1);
const SPAN_MS = 2 * 365 * 86_400_000;

function plan(entity: boolean): IndexPlan {
  return {
    name: entity ? "per_entity" : "all",
    line: 1,
    group: "docs",
    table: "fg_docs_v1",
    column: "embedding",
    dim: DIM,
    embedder: { kind: "embed", model: null },
    entity: entity ? "athlete" : null,
    keys: [{ name: "athlete_id", type: "string", nullable: false }],
    rowId: { name: "doc_id", type: "string", nullable: false },
    fields: [{ name: "note", type: "string", nullable: false }],
  };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

function measured(id: string, label: string, role: Measured["role"], ms: number[]): Measured {
  return { suite: S, id, label, role, ms: [pct(ms, 50)], cpuMs: [NaN], rssKB: Math.round(process.memoryUsage().rss / 1024), extra: {}, note: `p50 ${fmtMs(pct(ms, 50))}, p99 ${fmtMs(pct(ms, 99))} over ${ms.length} queries` };
}

export const suite: Suite = {
  name: S,
  describe: "vector retrieval point in time: in-memory index (online) vs DuckDB array_cosine_similarity (offline), 1 M × 256",
  async run(ctx: Ctx) {
    const rows = ctx.quick ? 20_000 : 1_000_000;
    const queries = ctx.quick ? 40 : 400;
    const sqlQueries = ctx.quick ? 8 : 20;
    const store = await openStore({ path: join(ctx.work(S), "store.duckdb"), memoryLimit: ctx.memoryLimit, threads: ctx.threads });
    try {
      const t0 = performance.now();
      await store.run(
        `CREATE TABLE fg_docs_v1 AS SELECT 'd' || i AS doc_id, 'a' || (hash(i) % ${ENTITIES}) AS athlete_id,
           make_timestamp(CAST((${T0} + (hash(i * 7) % ${SPAN_MS})) * 1000 AS BIGINT)) AS event_time, 'note ' || i AS note,
           CAST(list_transform(range(${DIM}), x -> random() - 0.5) AS FLOAT[${DIM}]) AS embedding, now()::TIMESTAMP AS ingested_at
         FROM range(${rows}) t(i)`,
      );
      const built = performance.now() - t0;
      const l0 = performance.now();
      const all = await MemoryIndex.load(store, plan(false));
      const perEntity = await MemoryIndex.load(store, plan(true));
      const loadMs = (performance.now() - l0) / 2;
      ctx.out.note(S, `${fmtInt(rows)} documents × ${DIM} (${fmtInt(ENTITIES)} entities) built in ${fmtMs(built)}; index load ${fmtMs(loadMs)}`);
      const r = mulberry32(7);
      const qs = Array.from({ length: queries }, () => ({
        v: Float32Array.from({ length: DIM }, () => r() - 0.5),
        at: new Date(T0 + r() * SPAN_MS * 1.1),
        entity: { athlete_id: `a${Math.floor(r() * ENTITIES)}` },
      }));
      const time = (fn: () => unknown) => {
        const s = performance.now();
        fn();
        return performance.now() - s;
      };
      const onlineAll = qs.map((q) => time(() => all.search(q.v, { at: q.at, k: 10 })));
      const onlineEntity = qs.map((q) => time(() => perEntity.search(q.v, { at: q.at, k: 10, entity: q.entity })));
      const offline: number[] = [];
      let same = true;
      let detail = "";
      for (const q of qs.slice(0, sqlQueries)) {
        const s = performance.now();
        const docs = await searchOffline(store, plan(false), q.v, { at: q.at, k: 10 });
        offline.push(performance.now() - s);
        const mem = all.search(q.v, { at: q.at, k: 10 });
        const a = docs.map((d) => d.id).join(",");
        const b = mem.map((d) => d.id).join(",");
        if (a !== b && same) {
          same = false;
          detail = `offline ${a} vs online ${b}`;
        }
      }
      ctx.out.check(S, "the online index returns the offline SQL ranking's documents", same, detail);
      const sql = measured("offline", "offline: DuckDB array_cosine_similarity, all documents, top 10", "ref", offline);
      const online = measured("online-all", "online: in-memory index, all documents, top 10", "fti", onlineAll);
      ctx.out.measure(online);
      ctx.out.measure(sql, { vs: online });
      ctx.out.measure(measured("online-entity", "online: in-memory index, one entity's documents, top 10", "info", onlineEntity));
    } finally {
      await store.close();
    }
  },
};
