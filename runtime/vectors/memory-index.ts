// The online index: every document of an index's group in memory, searched
// by brute force (exact, no approximation), point in time.
//
// Documents are sorted by event time, globally and per entity, so the
// candidates of a search at time t are a prefix of one list (binary search);
// each candidate's cosine similarity is its dot product with the query
// divided by both norms, in double precision over the stored float32
// values, as the offline SQL ranks them. A bounded insertion list keeps the
// top k.

import type { IndexPlan, RetrievedDocument, Scalar } from "../api.ts";
import type { Store } from "../store/store.ts";
import { ident, tableRef } from "../store/sql.ts";
import { checkK, entityKeyValues, idSql, ranksBefore, type SearchOptions } from "./documents.ts";

export class MemoryIndex {
  private constructor(
    readonly plan: IndexPlan,
    readonly size: number,
    private readonly vectors: Float32Array,
    private readonly norms: Float64Array,
    private readonly times: Float64Array,
    private readonly ids: string[],
    private readonly keys: Scalar[][],
    private readonly fields: Scalar[][],
    /** Row positions sorted by time: all documents, and per entity (keys joined by \u0000). */
    private readonly all: Int32Array,
    private readonly byEntity: Map<string, Int32Array>,
  ) {}

  /** Loads every document with a vector from the group's offline table. */
  static async load(store: Store, plan: IndexPlan): Promise<MemoryIndex> {
    const cols = [...plan.keys, ...plan.fields].map((c) => ident(c.name));
    const r = await store.readColumns(
      `SELECT ${idSql(plan)} AS __id, event_time AS __t, ${cols.join(", ")}${cols.length ? ", " : ""}${ident(plan.column)} AS __v
       FROM ${tableRef(plan.table)} WHERE ${ident(plan.column)} IS NOT NULL ORDER BY __t, __id`,
      undefined,
      { float64: ["__t"], timestamps: "ms", vectors: ["__v"] },
    );
    return MemoryIndex.build(plan, {
      n: r.n,
      vectors: r.vectors.__v,
      times: r.columns.__t as Float64Array,
      ids: (r.columns.__id as unknown[]).map(String),
      keys: plan.keys.map((k) => r.columns[k.name] as Scalar[]),
      fields: plan.fields.map((f) => (r.columns[f.name] as unknown[]).map(scalar)),
    });
  }

  /** From columns already sorted by (time, id). */
  static build(plan: IndexPlan, d: { n: number; vectors: Float32Array; times: Float64Array; ids: string[]; keys: Scalar[][]; fields: Scalar[][] }): MemoryIndex {
    const dim = plan.dim;
    const norms = new Float64Array(d.n);
    for (let i = 0; i < d.n; i++) {
      let s = 0;
      for (let j = i * dim, e = j + dim; j < e; j++) s += d.vectors[j] * d.vectors[j];
      norms[i] = Math.sqrt(s);
    }
    const rows = (i: number) => d.keys.map((col) => col[i]);
    const keyRows = Array.from({ length: d.n }, (_, i) => rows(i));
    const fieldRows = Array.from({ length: d.n }, (_, i) => d.fields.map((col) => col[i]));
    const lists = new Map<string, number[]>();
    for (let i = 0; i < d.n; i++) {
      const key = keyRows[i].map(String).join("\u0000");
      let l = lists.get(key);
      if (!l) lists.set(key, (l = []));
      l.push(i);
    }
    const byEntity = new Map([...lists].map(([k, l]) => [k, Int32Array.from(l)]));
    const all = Int32Array.from({ length: d.n }, (_, i) => i);
    return new MemoryIndex(plan, d.n, d.vectors, norms, d.times, d.ids, keyRows, fieldRows, all, byEntity);
  }

  search(query: Float32Array, opts: SearchOptions): RetrievedDocument[] {
    const k = checkK(opts.k);
    const keyValues = entityKeyValues(this.plan, opts.entity);
    const list = keyValues ? this.byEntity.get(keyValues.join("\u0000")) : this.all;
    if (!list) return [];
    const end = this.countBefore(list, opts.at.getTime());
    const dim = this.plan.dim;
    let qn = 0;
    for (let j = 0; j < dim; j++) qn += query[j] * query[j];
    qn = Math.sqrt(qn);
    const top: Array<{ score: number; t: number; id: string; row: number }> = [];
    for (let c = 0; c < end; c++) {
      const i = list[c];
      let score = 0;
      if (qn > 0 && this.norms[i] > 0) {
        let dot = 0;
        for (let j = 0, o = i * dim; j < dim; j++) dot += this.vectors[o + j] * query[j];
        score = dot / (this.norms[i] * qn);
      }
      // Most documents score below the k-th: no candidate object for them (the ranking is unchanged).
      if (top.length === k && score < top[k - 1].score) continue;
      const cand = { score, t: this.times[i], id: this.ids[i], row: i };
      if (top.length === k && !ranksBefore(cand, top[k - 1])) continue;
      let p = top.length < k ? top.length : k - 1;
      if (top.length < k) top.push(cand);
      while (p > 0 && ranksBefore(cand, top[p - 1])) {
        top[p] = top[p - 1];
        p--;
      }
      top[p] = cand;
    }
    return top.map((d) => this.document(d.row, d.score));
  }

  /** How many documents of a time-sorted list are strictly before t. */
  private countBefore(list: Int32Array, t: number): number {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.times[list[mid]] < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private document(i: number, score: number): RetrievedDocument {
    return {
      id: this.ids[i],
      score,
      eventTime: new Date(this.times[i]).toISOString(),
      keys: Object.fromEntries(this.plan.keys.map((c, j) => [c.name, this.keys[i][j]])),
      fields: Object.fromEntries(this.plan.fields.map((c, j) => [c.name, this.fields[i][j]])),
    };
  }
}

function scalar(v: unknown): Scalar {
  if (v instanceof Date) return v.toISOString();
  return v === undefined ? null : (v as Scalar);
}
