import { z } from "zod";
import { requestTimestamp } from "../../runtime/api.ts";
// Hand-made SpecBundles for the training / registry / inference tests. The
// step `apply` functions and `encode` are written by hand in the shape the
// compiler generates into transforms.ts (one function per MDT kind, state
// read from the fitted state, null in → null out; encode writes NaN for null
// and expands one_hot into one column per category).

import type {
  ColumnPlan,
  EncodeFn,
  ImputeState,
  MdtKind,
  MdtStep,
  MinMaxScaleState,
  ModelInputPlan,
  ModelPlan,
  OneHotState,
  Scalar,
  SpecBundle,
  StandardScaleState,
  ViewPlan,
} from "../../runtime/api.ts";
import { entityView } from "./view-plan.ts";

// ------------------------------------------------------------------ generated-style MDT code

export const applyStandardScale = (v: Scalar, s: StandardScaleState): Scalar =>
  v === null ? null : ((v as number) - s.mean) / s.std;
export const applyMinMaxScale = (v: Scalar, s: MinMaxScaleState): Scalar =>
  v === null ? null : s.max === s.min ? 0 : ((v as number) - s.min) / (s.max - s.min);
export const applyImpute = (v: Scalar, s: ImputeState): Scalar => (v === null ? s.value : v);
export const applyLog1p = (v: Scalar): Scalar => (v === null ? null : Math.log1p(v as number));
export const applyClip =
  (min: number | null, max: number | null) =>
  (v: Scalar): Scalar =>
    v === null ? null : Math.min(max ?? Infinity, Math.max(min ?? -Infinity, v as number));
export const applyBucketize =
  (boundaries: number[]) =>
  (v: Scalar): Scalar => {
    if (v === null) return null;
    let i = 0;
    while (i < boundaries.length && (v as number) >= boundaries[i]) i++;
    return i;
  };
/** one_hot is applied by encode; its step apply is the identity. */
export const applyOneHot = (v: Scalar): Scalar => v;

export function step(kind: MdtKind, params: Record<string, unknown> = {}): MdtStep {
  switch (kind) {
    case "standard_scale":
      return { kind, params, apply: applyStandardScale };
    case "min_max_scale":
      return { kind, params, apply: applyMinMaxScale };
    case "impute":
      return { kind, params, apply: applyImpute };
    case "log1p":
      return { kind, params, apply: applyLog1p };
    case "clip":
      return { kind, params, apply: applyClip((params.min as number) ?? null, (params.max as number) ?? null) };
    case "bucketize":
      return { kind, params, apply: applyBucketize(params.boundaries as number[]) };
    case "one_hot":
      return { kind, params, apply: applyOneHot };
  }
}

export function input(name: string, steps: MdtStep[] = [], from: "feature" | "odt" = "feature"): ModelInputPlan {
  return { name, from, type: steps.some((s) => s.kind === "one_hot") ? "string" : "float", steps };
}

/**
 * An encode in the shape the compiler emits for a model: per input, the
 * steps' applies in order, then either one float (null → NaN) or the one_hot
 * expansion (unknown or null → all zeros).
 */
export function makeEncode(inputs: ModelInputPlan[]): EncodeFn {
  return (row, state, out, offset) => {
    let at = offset;
    for (const inp of inputs) {
      const states = state.inputs[inp.name];
      let v: Scalar = row[inp.name] ?? null;
      const last = inp.steps[inp.steps.length - 1];
      const n = last?.kind === "one_hot" ? inp.steps.length - 1 : inp.steps.length;
      for (let k = 0; k < n; k++) v = inp.steps[k].apply(v, states[k]);
      if (last?.kind === "one_hot") {
        const cats = (states[n] as OneHotState).categories;
        const idx = v === null ? -1 : cats.indexOf(String(v));
        for (let j = 0; j < cats.length; j++) out[at + j] = j === idx ? 1 : 0;
        at += cats.length;
      } else {
        out[at++] = v === null ? NaN : (v as number);
      }
    }
  };
}

export function model(
  name: string,
  inputs: ModelInputPlan[],
  over: Partial<Omit<ModelPlan, "inputs" | "encode">> = {},
): ModelPlan {
  // requestSchema is filled in from the view by withRequestSchemas (makeBundle does it).
  return {
    name,
    line: 1,
    view: "v_user",
    task: "regression",
    algorithm: { kind: "linear", params: { l2: 0.01 } },
    split: { kind: "time", testFrom: "2025-10-01" },
    metrics: ["mae", "rmse", "r2"],
    requires: [],
    canImpute: inputs.every((i) => i.steps.some((s) => s.kind === "impute")),
    ...over,
    inputs,
    encode: makeEncode(inputs),
  } as ModelPlan;
}

// ------------------------------------------------------------------ a small spec

/** fg_user_stats_v1: per user, x1 (float), x2 (float, sometimes missing), cat (a/b/c). */
export const FEATURE_TABLE = "fg_user_stats_v1";

export const userView: ViewPlan = entityView({
  name: "v_user",
  line: 10,
  entity: "user",
  keys: [{ name: "user_id", type: "string", nullable: false }],
  label: { name: "y", source: "events", column: "y", type: "float", eventTime: "ts" },
  features: [
    { name: "x1", group: "user_stats", table: FEATURE_TABLE, type: "float" },
    { name: "x2", group: "user_stats", table: FEATURE_TABLE, type: "float" },
    { name: "cat", group: "user_stats", table: FEATURE_TABLE, type: "string" },
  ],
  odts: [],
  requestFields: [],
  ttlMs: null,
  asOf: "strict",
});

/** The same features plus an ODT `boost = amount * x1` over the request field `amount`. */
export const requestView: ViewPlan = {
  ...userView,
  name: "v_request",
  odts: [
    {
      name: "boost",
      line: 20,
      requestParams: [{ name: "amount", type: "float", nullable: false }],
      featureParams: ["x1"],
      returns: { name: "boost", type: "float", nullable: true },
      compute: (req, f) => (req.amount === null || f.x1 === null ? null : (req.amount as number) * (f.x1 as number)),
    },
  ],
  requestFields: [{ name: "amount", type: "float", nullable: false }],
};

const gbdtInputs = [
  input("x1", [step("standard_scale")]),
  input("x2", [step("min_max_scale")]),
  input("cat", [step("one_hot")]),
];
const linearInputs = [
  input("x1", [step("impute", { strategy: "median" }), step("standard_scale")]),
  input("x2", [step("impute", { strategy: "mean" }), step("standard_scale")]),
  input("cat", [step("one_hot")]),
];

/** What the compiler generates for a model's requests: its view's keys and request fields, strictly. */
function requestSchemaOf(view: ViewPlan): z.ZodObject {
  const zodOf = (c: ColumnPlan) => {
    const base = c.type === "string" ? z.string() : c.type === "bool" ? z.boolean() : c.type === "timestamp" ? requestTimestamp() : c.type === "int" ? z.number().int() : z.number();
    return c.nullable ? base.nullable() : base;
  };
  return z.strictObject(Object.fromEntries([...view.keys, ...view.requestFields].map((c) => [c.name, zodOf(c)])));
}

/** Gives every model the request schema of its view, as generated code does. */
export function withRequestSchemas(bundle: SpecBundle): SpecBundle {
  const models = bundle.models.map((m) => {
    const view = bundle.views.find((v) => v.name === m.view);
    return view && !m.requestSchema ? { ...m, requestSchema: requestSchemaOf(view) } : m;
  });
  return { ...bundle, models };
}

export function makeBundle(over: Partial<SpecBundle> = {}): SpecBundle {
  return withRequestSchemas({
    name: "toy",
    file: "specs/toy.fti",
    specDir: "/tmp",
    specHash: "spec-hash-1",
    transformsHash: "transforms-hash-1",
    sources: [],
    groups: [
      {
        name: "user_stats",
        version: 1,
        line: 5,
        table: FEATURE_TABLE,
        entity: "user",
        keys: [{ name: "user_id", type: "string", nullable: false }],
        input: { kind: "source", name: "events" },
        features: [
          { name: "x1", type: "float", nullable: false },
          { name: "x2", type: "float", nullable: true },
          { name: "cat", type: "string", nullable: false },
        ],
        lookbackMs: 0,
        sql: "SELECT 1",
        externs: [],
      },
    ],
    views: [userView, requestView],
    models: [
      model("toy_gbdt", gbdtInputs, {
        algorithm: { kind: "gbdt", params: { trees: 30, depth: 3, learning_rate: 0.2, min_leaf: 5, bins: 32, l2: 0 } },
        requires: [{ metric: "r2", op: ">", value: 0.5 }],
      }),
      model("toy_linear", linearInputs, { requires: [{ metric: "mae", op: "<", value: 0.01 }] }),
      model("toy_request", [...linearInputs, input("boost", [step("impute", { strategy: "mean" })], "odt")], {
        view: "v_request",
      }),
      model("toy_random", linearInputs, { split: { kind: "random", testFraction: 0.25, seed: 7 } }),
      model("toy_external", linearInputs, { algorithm: { kind: "onnx", file: "toy.onnx" } }),
    ],
    serves: [{ model: "toy_gbdt", online: true }],
    externs: {},
    ...over,
  });
}

// ------------------------------------------------------------------ synthetic feature values

function hashKey(key: string): number {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return (h >>> 0) / 4294967296;
}

/** The synthetic truth for a user at a time: what the stand-in PIT join returns. */
export function featureValues(user: string, timeMs: number): { x1: number; x2: number | null; cat: string } {
  const h = hashKey(user);
  const day = Math.floor(timeMs / 86_400_000);
  const x1 = Math.round((h * 10 + Math.sin(day / 9) * 2) * 1000) / 1000;
  const x2 = (day + Math.floor(h * 100)) % 7 === 0 ? null : Math.round(((day % 30) + h * 5) * 100) / 100;
  const cat = ["a", "b", "c"][Math.floor(h * 3)];
  return { x1, x2, cat };
}

/** The synthetic label: linear in the features with a little deterministic noise. */
export function labelOf(f: { x1: number; x2: number | null; cat: string }, i: number): number {
  return 3 * f.x1 + 0.5 * (f.x2 ?? 10) + (f.cat === "a" ? 4 : f.cat === "b" ? -2 : 0) + Math.sin(i * 12.9898) * 0.3;
}

// ------------------------------------------------------------------ stand-in PIT join

const DAY = 86_400_000;
export const T0 = Date.UTC(2025, 0, 1);
export const USERS = Array.from({ length: 30 }, (_, i) => `u${String(i).padStart(2, "0")}`);

function viewOf(bundle: SpecBundle, viewName: string): ViewPlan {
  const view = bundle.views.find((v) => v.name === viewName);
  if (!view) throw new Error(`no view ${viewName}`);
  return view;
}

/** Feature, ODT and request columns for a spine, from the synthetic truth. */
function spineColumns(
  view: ViewPlan,
  users: Scalar[],
  times: Float64Array,
  request: Record<string, Scalar[]> | undefined,
): Record<string, Scalar[]> {
  const n = users.length;
  const columns: Record<string, Scalar[]> = {};
  for (const f of view.features) columns[f.name] = new Array(n);
  for (const r of view.requestFields) columns[r.name] = request?.[r.name] ?? new Array(n).fill(null);
  for (const o of view.odts) columns[o.name] = new Array(n);
  for (let i = 0; i < n; i++) {
    const f = featureValues(String(users[i]), times[i] - 1);
    const feats: Record<string, Scalar> = f;
    for (const vf of view.features) columns[vf.name][i] = feats[vf.name];
    for (const o of view.odts) {
      const req: Record<string, Scalar> = {};
      for (const p of o.requestParams) req[p.name] = columns[p.name][i];
      columns[o.name][i] = o.compute(req, feats);
    }
  }
  return columns;
}

/** Stands in for pit.ts buildTrainingFrame: 300 labelled events over 2025, 30 users. */
export function standInTrainingFrame(bundle: SpecBundle, viewName: string) {
  const view = viewOf(bundle, viewName);
  const n = 300;
  const users = Array.from({ length: n }, (_, i) => USERS[i % USERS.length]);
  const time = Float64Array.from({ length: n }, (_, i) => T0 + Math.floor((i * 340 * DAY) / n));
  const request = { amount: Array.from({ length: n }, (_, i) => 1 + (i % 5)) };
  const columns = spineColumns(view, users, time, request);
  const label = Float64Array.from({ length: n }, (_, i) =>
    labelOf(featureValues(users[i], time[i] - 1), i) + (view.odts.length ? 0.1 * (columns.boost[i] as number) : 0),
  );
  return {
    n,
    keys: { user_id: users as Scalar[] },
    time,
    label,
    columns,
    range: { from: new Date(time[0]).toISOString(), to: new Date(time[n - 1]).toISOString() },
  };
}

/** Stands in for pit.ts featuresAsOf. */
export function standInFeaturesAsOf(
  bundle: SpecBundle,
  viewName: string,
  spine: { keys: Record<string, Scalar[]>; time: Date | Float64Array; request?: Record<string, Scalar[]> },
) {
  const view = viewOf(bundle, viewName);
  const users = spine.keys.user_id;
  const n = users.length;
  const time =
    spine.time instanceof Date ? new Float64Array(n).fill(spine.time.getTime()) : Float64Array.from(spine.time);
  return {
    n,
    keys: { user_id: users },
    time,
    columns: spineColumns(view, users, time, spine.request),
    range: { from: new Date(time[0]).toISOString(), to: new Date(time[n - 1]).toISOString() },
  };
}

// ------------------------------------------------------------------ synthetic tables for the real PIT join

/**
 * Writes `src_events` (the label source: user_id, ts, amount, y, ingested_at)
 * and the feature table (user_id, event_time, ingested_at, x1, x2, cat) in the
 * layout the feature pipeline produces. Feature rows come every 10 days per
 * user; each label is computed from the latest feature row strictly before
 * its event, so a correct PIT join lets a linear model fit it almost exactly.
 */
export async function loadSyntheticTables(store: {
  run(sql: string): Promise<number>;
  appendRows(table: string, columns: readonly string[], rows: ReadonlyArray<ReadonlyArray<unknown>>): Promise<number>;
}): Promise<{ events: number; featureRows: number }> {
  await store.run(
    `CREATE TABLE src_events (user_id VARCHAR, ts TIMESTAMP, amount DOUBLE, y DOUBLE, ingested_at TIMESTAMP)`,
  );
  await store.run(
    `CREATE TABLE ${FEATURE_TABLE} (user_id VARCHAR, event_time TIMESTAMP, ingested_at TIMESTAMP, x1 DOUBLE, x2 DOUBLE, cat VARCHAR)`,
  );
  const ingested = new Date(Date.UTC(2026, 0, 1));
  const featureRows: unknown[][] = [];
  const latest = new Map<string, Array<{ t: number; f: ReturnType<typeof featureValues> }>>();
  USERS.forEach((u, k) => {
    const rows: Array<{ t: number; f: ReturnType<typeof featureValues> }> = [];
    for (let t = T0 + (k % 10) * DAY; t < T0 + 360 * DAY; t += 10 * DAY) {
      const f = featureValues(u, t);
      rows.push({ t, f });
      featureRows.push([u, new Date(t), ingested, f.x1, f.x2, f.cat]);
    }
    latest.set(u, rows);
  });
  const events: unknown[][] = [];
  for (let i = 0; i < 300; i++) {
    const u = USERS[(i * 7) % USERS.length];
    const t = T0 + 12 * DAY + Math.floor((i * 330 * DAY) / 300) + 3_600_000;
    const before = latest.get(u)!.filter((r) => r.t < t);
    const f = before[before.length - 1].f;
    events.push([u, new Date(t), 1 + (i % 5), labelOf(f, i), ingested]);
  }
  await store.appendRows(FEATURE_TABLE, ["user_id", "event_time", "ingested_at", "x1", "x2", "cat"], featureRows);
  await store.appendRows("src_events", ["user_id", "ts", "amount", "y", "ingested_at"], events);
  return { events: events.length, featureRows: featureRows.length };
}
