// Global feature groups (a feature_group without `for`: one series, zero
// keys), compiled from a spec and run through the real pipeline, against the
// brute-force definitions of docs/language.md: the windows of §6 over every
// input row whatever its entity column (test/helpers/window-reference.ts with
// all rows as one entity), and the point-in-time join of §7 by time only, in
// a view without `for` and mixed with an entity's group in a view with one.
// Seeded random events: coarse instants (many peers), nulls, a 40-day gap.

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCompiledSpec } from "../compiler/cli/load.ts";
import type { IrExpr, IrFeature } from "../compiler/ir.ts";
import type { Scalar, SpecBundle } from "../runtime/api.ts";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { columnValues } from "../runtime/retrieval/columns.ts";
import { buildTrainingFrame, featuresAsOf } from "../runtime/retrieval/pit.ts";
import { REPO } from "./helpers/online-athlete.ts";
import { close, col, DAY, everyAggregation, HOUR, randomRows, reference, row, T, type Row } from "./helpers/window-reference.ts";
import { storeUser } from "./helpers/store-user.ts";

const TTL = 2 * DAY;

/** An IR expression of the reference's kinds as spec text. */
function exprText(e: IrExpr): string {
  if (e.k === "col") return e.name;
  if (e.k === "lit") return String(e.value);
  if (e.k === "binary") return `(${exprText(e.left)} ${e.op} ${exprText(e.right)})`;
  throw new Error(`no text for ${e.k}`);
}

/** A feature as a line of a feature group (every window here is a whole number of hours). */
function featureText(f: IrFeature): string {
  if (f.kind === "row") return `${f.name} = ${exprText(f.expr)}`;
  return `${f.name} = ${f.agg}(${f.arg ? exprText(f.arg) : ""}) over ${f.windowMs / HOUR}h`;
}

// Every aggregation, row features before and after windows; `rid` names the row each join picked.
const FEATURES: IrFeature[] = [...everyAggregation(), row("rid", col("id", T("string")))];

const SPEC = `
source events {
  path "data/events.ndjson"
  event_time ts
  unique id
  fields { id: string  k: string  ts: timestamp  x: float?  y: int  s: string? }
}

entity ent { key k: string }

// Global reference data: one rate for everyone, from its valid_from on.
source rates {
  path "data/rates.ndjson"
  valid_from starts
  fields { starts: timestamp  rate: float }
}
feature_group rate from rates { r = rate }

// An entity's group looks the global rate up as it holds at each row's time.
feature_group per_k_rate for ent from events { scaled = x * rate.r }

// No \`for\`: the whole source is one series, whatever its k.
feature_group series from events {
${FEATURES.map((f) => `  ${featureText(f)}`).join("\n")}
}

feature_group per_k for ent from events {
  k_sum_7d = sum(x) over 7d
  krid = id
}

view series_data from events {
  label yv = y
  features series.*
  ttl 2d
  as_of strict
}

// One series (no \`for\`, only global joins): a forward label aggregates every spine row.
view ahead_data from events {
  label y_next_2d = sum(y) over next 2d
  features series.n_3d
}

// An entity's view: per_k joined by k, the global series by time only, onto the same rows.
view mixed_data for ent from events {
  label yv = y
  features per_k.*, series.n_3d, series.rid
  as_of inclusive
}
`;

const START = Date.UTC(2024, 0, 1); // randomRows' first day
const RATES = [
  { starts: START + 3 * DAY + 5 * HOUR, rate: 2 },
  { starts: START + 30 * DAY, rate: 0.5 },
  { starts: START + 61 * DAY + HOUR, rate: 3 },
];

let root: string;
let bundle: SpecBundle;
let rows: Row[];
let storePath: string;
const withStore = storeUser(() => storePath);

beforeAll(async () => {
  root = join(REPO, ".fti", `global-series-test-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(join(root, "data"), { recursive: true });
  writeFileSync(join(root, "spec.fti"), SPEC);
  rows = randomRows(23, 700, 5, 90);
  const lines = rows.map((r) => JSON.stringify({ id: r.id, k: r.k, ts: new Date(r.ts).toISOString(), x: r.x, y: r.y, s: r.s }));
  writeFileSync(join(root, "data/events.ndjson"), lines.join("\n") + "\n");
  writeFileSync(join(root, "data/rates.ndjson"), RATES.map((x) => JSON.stringify({ starts: new Date(x.starts).toISOString(), rate: x.rate })).join("\n") + "\n");
  bundle = await loadCompiledSpec(join(root, "spec.fti"), { outDir: join(root, "generated/spec"), quiet: true });
  storePath = join(root, "store.duckdb");
  await withStore((store) => runFeaturePipeline(store, bundle));
}, 60_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

/**
 * The row a join picks at t (§7): among `candidates`, the latest with event
 * time < t (strict) or <= t (inclusive) and within the ttl; ties at one
 * instant: the greatest row id (one feature run: one ingested_at).
 */
function pick(candidates: Row[], t: number, asOf: "strict" | "inclusive", ttlMs: number | null): Row | null {
  let best: Row | null = null;
  for (const r of candidates) {
    if (asOf === "strict" ? !(r.ts < t) : !(r.ts <= t)) continue;
    if (ttlMs !== null && r.ts < t - ttlMs) continue;
    if (!best || r.ts > best.ts || (r.ts === best.ts && r.id > best.id)) best = r;
  }
  return best;
}

const sorted = (xs: string[]) => [...xs].sort();

describe("a global group", () => {
  it("has no key column, and its windows aggregate every input row in (t - w, t] whatever the entity column", async () => {
    const table = await withStore((store) => store.all<Record<string, unknown>>(`SELECT * FROM fg_series_v1`));
    expect(Object.keys(table[0])).toEqual(["event_time", "id", ...FEATURES.map((f) => f.name), "ingested_at"]);
    // The brute force with every row of one entity: the definition of a global group.
    const windows = FEATURES.filter((f) => f.name !== "rid");
    const want = reference(rows.map((r) => ({ ...r, k: "all" })), windows);
    const perEntity = reference(rows, windows);
    expect(table).toHaveLength(rows.length);
    let differsPerEntity = 0;
    for (const got of table) {
      const id = got.id as string;
      const r = rows.find((x) => x.id === id)!;
      expect((got.event_time as Date).getTime()).toBe(r.ts);
      expect(got.rid).toBe(id);
      for (const f of windows) {
        if (!close(got[f.name], want.get(id)![f.name], f.type)) {
          throw new Error(`row ${id} (t=${new Date(r.ts).toISOString()}) ${f.name}: pipeline ${String(got[f.name])} vs reference ${String(want.get(id)![f.name])}`);
        }
      }
      if (Number(got.n_3d) !== perEntity.get(id)!.n_3d) differsPerEntity++;
    }
    // The data makes the difference visible: a per-entity count would not match.
    expect(differsPerEntity).toBeGreaterThan(rows.length / 2);
  });

  it("is joined by time only in a view without `for`: the series' latest row before t, within the ttl", async () => {
    const frame = await withStore((store) => buildTrainingFrame(store, bundle, "series_data"));
    expect(Object.keys(frame.keys)).toEqual([]);
    const rid = columnValues(frame.columns.rid);
    const got = sorted(Array.from({ length: frame.n }, (_, i) => JSON.stringify([frame.time[i], frame.label[i], rid[i]])));
    const want = sorted(rows.map((r) => JSON.stringify([r.ts, r.y, pick(rows, r.ts, "strict", TTL)?.id ?? null])));
    expect(got).toEqual(want);
    // Peers of the spine row are never seen (strict), stale rows are nulls (the 40-day gap), ties are common.
    const nulls = rid.filter((v) => v === null).length;
    expect(nulls).toBeGreaterThan(0);
    expect(nulls).toBeLessThan(frame.n / 4);
    const tied = rows.filter((r) => rows.some((o) => o !== r && o.ts === r.ts)).length;
    expect(tied).toBeGreaterThan(100);
  });

  it("every feature of a joined row is the stored row's value (one row per join, all its features)", async () => {
    const frame = await withStore((store) => buildTrainingFrame(store, bundle, "series_data"));
    const table = await withStore((store) => store.all<Record<string, unknown>>(`SELECT * FROM fg_series_v1`));
    const byId = new Map(table.map((r) => [r.id as string, r]));
    const cols = Object.fromEntries(FEATURES.map((f) => [f.name, columnValues(frame.columns[f.name])]));
    for (let i = 0; i < frame.n; i++) {
      const id = cols.rid[i] as string | null;
      for (const f of FEATURES) {
        const stored = id === null ? null : byId.get(id)![f.name];
        expect(cols[f.name][i], `${f.name} of spine row ${i}`).toEqual(typeof stored === "bigint" ? Number(stored) : stored);
      }
    }
  });

  it("mixes with an entity's group in a view with `for`: the entity's row by key, the series' row by time", async () => {
    const frame = await withStore((store) => buildTrainingFrame(store, bundle, "mixed_data"));
    expect(Object.keys(frame.keys)).toEqual(["k"]);
    const krid = columnValues(frame.columns.krid);
    const rid = columnValues(frame.columns.rid);
    const got = sorted(Array.from({ length: frame.n }, (_, i) => JSON.stringify([frame.keys.k[i], frame.time[i], frame.label[i], krid[i], rid[i]])));
    const want = sorted(
      rows.map((r) => {
        const own = pick(rows.filter((o) => o.k === r.k), r.ts, "inclusive", null);
        return JSON.stringify([r.k, r.ts, r.y, own?.id ?? null, pick(rows, r.ts, "inclusive", null)!.id]);
      }),
    );
    expect(got).toEqual(want);
    // The two joins pick different rows where a peer of another entity (greater row id) is at the same instant.
    expect(krid.filter((v, i) => v !== rid[i]).length).toBeGreaterThan(30);
  });

  it("makes a view of one series, whose forward label aggregates every row in (t, t + w] while t + w is observed", async () => {
    const frame = await withStore((store) => buildTrainingFrame(store, bundle, "ahead_data"));
    const end = Math.max(...rows.map((r) => r.ts));
    const want = rows
      .filter((r) => r.ts + 2 * DAY <= end)
      .map((r) => JSON.stringify([r.ts, rows.filter((o) => o.ts > r.ts && o.ts <= r.ts + 2 * DAY).reduce((s, o) => s + o.y, 0)]));
    expect(sorted(Array.from({ length: frame.n }, (_, i) => JSON.stringify([frame.time[i], frame.label[i]])))).toEqual(sorted(want));
    expect(frame.n).toBeLessThan(rows.length);
    expect(frame.n).toBeGreaterThan(rows.length / 2);
  });

  it("over reference data, is looked up by an entity's group as it holds at each row's time", async () => {
    const table = await withStore((store) => store.all<{ id: string; k: string; scaled: number | null }>(`SELECT id, k, scaled FROM fg_per_k_rate_v1`));
    const holding = (t: number) => RATES.filter((x) => x.starts <= t).at(-1)?.rate ?? null;
    const want = sorted(rows.map((r) => JSON.stringify([r.id, r.k, r.x === null || holding(r.ts) === null ? null : r.x * holding(r.ts)!])));
    expect(sorted(table.map((r) => JSON.stringify([r.id, r.k, r.scaled])))).toEqual(want);
    // Rows before the first rate, and under each rate, are all there.
    expect(new Set(rows.map((r) => holding(r.ts))).size).toBe(RATES.length + 1);
  });

  it("featuresAsOf reads the series without keys: one row per time", async () => {
    const times = [rows[0].ts, rows[1].ts + HOUR / 2, Date.UTC(2023, 0, 1)];
    const frame = await withStore((store) => featuresAsOf(store, bundle, "series_data", { keys: {}, time: Float64Array.from(times) }));
    expect(frame.n).toBe(3);
    // As of a time (inclusive: everything known then), with the view's ttl.
    expect(columnValues(frame.columns.rid) as Scalar[]).toEqual(times.map((t) => pick(rows, t, "inclusive", TTL)?.id ?? null));
  });
});
