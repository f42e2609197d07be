// A zod schema of the IR, checked where the IR crosses from the checker into
// the emitters: if the checker ever hands over a malformed IR, compilation
// stops with a precise path instead of emitting wrong code.
//
// The IR is defined once, by the types of ir.ts; this schema is proven equal
// to them at compile time (the `Same` checks at the end), so a field added to
// one and not the other fails `tsc`, and `irSchema.parse` returns an IrSpec
// without a cast.

import { createRequire } from "node:module";
import type { z as zod } from "zod";

// zod through require(), its CommonJS build: an ESM import of zod is ~95 modules, each a round trip
// to tsx's module-loader thread under Node 20, on the path of every `fti compile` (the CommonJS build
// loads in about half the time). The types are the same package's.
const { z } = createRequire(import.meta.url)("zod") as { z: typeof zod };
import { MAX_VECTOR_DIM, type IrExpr, type IrSpec, type IrType } from "./ir.ts";

const scalar = z.enum(["int", "float", "bool", "string", "timestamp", "duration"]);
const irType: zod.ZodType<IrType> = z.lazy(() =>
  z.object({
    base: z.union([scalar, z.literal("list"), z.literal("vector")]),
    nullable: z.boolean(),
    elem: irType.optional(),
    dim: z.number().int().min(1).max(MAX_VECTOR_DIM).optional(),
  }),
);
const loc = z.object({ line: z.number().int().positive(), column: z.number().int().positive() });
/** The module an imported declaration comes from. */
const fromModule = z.string().min(1).optional();
const column = z.object({ name: z.string().min(1), type: irType });
const windowAgg = z.enum(["count", "sum", "avg", "min", "max", "stddev", "last", "ewma"]);
const schedule = z.union([z.object({ cron: z.string().min(1) }), z.object({ everyMs: z.number().positive() })]);

const binaryOp = z.enum(["+", "-", "*", "/", "%", "^", "==", "!=", "<", "<=", ">", ">=", "and", "or"]);
const irExpr: zod.ZodType<IrExpr> = z.lazy(() => irExprUnion);
const irExprUnion = z.discriminatedUnion("k", [
  z.object({ k: z.literal("lit"), type: irType, value: z.union([z.number(), z.string(), z.boolean(), z.null()]) }),
  z.object({ k: z.literal("col"), name: z.string(), type: irType }),
  z.object({ k: z.literal("param"), name: z.string(), type: irType }),
  z.object({ k: z.literal("call"), fn: z.string(), args: z.array(irExpr), type: irType }),
  z.object({ k: z.literal("builtin"), name: z.string(), args: z.array(irExpr), type: irType }),
  z.object({ k: z.literal("unary"), op: z.enum(["neg", "not"]), arg: irExpr, type: irType }),
  z.object({ k: z.literal("binary"), op: binaryOp, left: irExpr, right: irExpr, type: irType }),
  z.object({ k: z.literal("if"), cond: irExpr, then: irExpr, else: irExpr, type: irType }),
  z.object({ k: z.literal("in"), arg: irExpr, values: z.array(irExpr), type: irType }),
]);

const mdt = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("standard_scale") }),
  z.object({ kind: z.literal("min_max_scale") }),
  z.object({ kind: z.literal("one_hot"), categories: z.array(z.string()).optional() }),
  z.object({ kind: z.literal("log1p") }),
  z.object({ kind: z.literal("clip"), min: z.number().nullable(), max: z.number().nullable() }),
  z.object({ kind: z.literal("impute"), strategy: z.enum(["mean", "median", "constant"]), value: z.union([z.number(), z.string()]).optional() }),
  z.object({ kind: z.literal("bucketize"), boundaries: z.array(z.number()) }),
]);

export const irSchema = z.object({
  name: z.string().min(1),
  file: z.string(),
  specHash: z.string().regex(/^[0-9a-f]{64}$/),
  sources: z.array(z.object({
    name: z.string(),
    loc,
    module: fromModule,
    location: z.union([
      z.object({ kind: z.literal("files"), path: z.string(), format: z.enum(["csv", "parquet", "ndjson"]) }),
      z.object({ kind: z.literal("table"), table: z.string() }),
    ]),
    eventTime: z.string().optional(),
    validity: z.object({ from: z.string(), to: z.string().optional() }).optional(),
    unique: z.array(z.string()).min(1).optional(),
    stream: z.object({ latenessMs: z.number() }).optional(),
    fields: z.array(z.object({
      name: z.string(),
      type: irType,
      allowed: z.array(z.union([z.string(), z.number(), z.boolean()])).optional(),
      checks: z.array(z.object({ expr: irExpr, text: z.string() })),
      format: z.string().optional(),
      column: z.string().optional(),
    })),
  })),
  entities: z.array(z.object({ name: z.string(), loc, module: fromModule, keys: z.array(column).min(1) })),
  functions: z.array(z.object({
    name: z.string(),
    loc,
    module: fromModule,
    params: z.array(column),
    returns: irType,
    body: irExpr.optional(),
    extern: z.object({ module: z.string(), exportName: z.string() }).optional(),
  })),
  groups: z.array(z.object({
    name: z.string(),
    version: z.number().int().positive(),
    loc,
    module: fromModule,
    table: z.string().regex(/^fg_\w+_v\d+$/),
    entity: z.string().nullable(),
    keys: z.array(column),
    keyColumns: z.array(z.string()),
    where: irExpr.nullable(),
    input: z.object({ kind: z.enum(["source", "group"]), name: z.string() }),
    rowId: column.optional(),
    reference: z.object({ source: z.string(), validity: z.boolean(), validTo: z.boolean() }).optional(),
    stream: z.object({ source: z.string() }).optional(),
    inputColumns: z.array(column),
    lookups: z.array(z.object({
      group: z.string(),
      table: z.string().regex(/^fg_\w+_v\d+$/),
      keys: z.array(z.string()),
      rowId: z.string().optional(),
      validTo: z.boolean(),
      reference: z.object({ source: z.string(), validity: z.boolean() }),
      features: z.array(z.object({ name: z.string(), type: irType })).min(1),
    })).optional(),
    features: z.array(z.union([
      z.object({ kind: z.literal("row"), name: z.string(), loc, type: irType, expr: irExpr }),
      z.object({
        kind: z.literal("window"), name: z.string(), loc, type: irType,
        agg: windowAgg,
        arg: irExpr.nullable(), windowMs: z.number().positive(), windowText: z.string(),
      }),
    ])).min(1),
    lookbackMs: z.number().nonnegative().nullable(),
    schedule: schedule.optional(),
  })),
  onDemand: z.array(z.object({
    name: z.string(),
    loc,
    module: fromModule,
    requestParams: z.array(column),
    featureParams: z.array(z.object({ name: z.string(), group: z.string(), type: irType })),
    returns: irType,
    body: irExpr,
  })),
  views: z.array(z.object({
    name: z.string(),
    loc,
    entity: z.string().nullable(),
    keys: z.array(column),
    spine: z.object({ source: z.string(), eventTime: z.string().nullable(), where: irExpr.nullable(), entityColumns: z.array(z.string()) }),
    label: z.object({
      name: z.string(), type: irType, expr: irExpr, text: z.string(), lineage: z.array(z.string()),
      forward: z.array(z.object({ name: z.string(), agg: windowAgg, arg: irExpr.nullable(), windowMs: z.number().positive(), type: irType })),
    }),
    joins: z.array(z.object({ group: z.string(), on: z.array(z.object({ key: z.string(), column: z.string() })) })),
    features: z.array(z.object({ name: z.string(), group: z.string(), column: z.string(), join: z.number().int().nonnegative(), type: irType })),
    odts: z.array(z.string()),
    requestFields: z.array(column),
    ttlMs: z.number().positive().nullable(),
    ttlText: z.string().nullable(),
    asOf: z.enum(["strict", "inclusive"]),
  })),
  models: z.array(z.object({
    name: z.string(),
    loc,
    view: z.string(),
    task: z.enum(["regression", "binary_classification", "multiclass_classification"]),
    algorithm: z.union([
      z.object({ kind: z.literal("linear"), params: z.object({ l2: z.number() }) }),
      z.object({ kind: z.literal("logistic"), params: z.object({ l2: z.number(), iterations: z.number() }) }),
      z.object({
        kind: z.literal("gbdt"),
        params: z.object({ trees: z.number(), depth: z.number(), learning_rate: z.number(), min_leaf: z.number(), bins: z.number(), l2: z.number() }),
      }),
      z.object({ kind: z.literal("onnx"), file: z.string() }),
    ]),
    inputs: z.array(z.object({ name: z.string(), from: z.enum(["feature", "odt"]), type: irType, mdts: z.array(mdt) })).min(1),
    split: z.union([
      z.object({ kind: z.literal("time"), testFrom: z.string() }),
      z.object({ kind: z.literal("last"), testLastMs: z.number().positive() }),
      z.object({ kind: z.literal("random"), testFraction: z.number().gt(0).lt(1), seed: z.number().int() }),
    ]),
    metrics: z.array(z.string()).min(1),
    requires: z.array(z.object({ metric: z.string(), op: z.enum(["<", "<=", ">", ">="]), value: z.number() })),
    retrain: z.object({
      line: z.number().int().positive(),
      schedule: schedule.optional(),
      drift: z.array(z.object({ measure: z.enum(["psi", "ks"]), op: z.enum([">", ">="]), value: z.number() })),
      live: z.array(z.object({ metric: z.string(), op: z.enum(["<", "<=", ">", ">="]), value: z.number() })),
      promoteIfBetter: z.string().optional(),
    }).optional(),
  })),
  serves: z.array(z.object({ model: z.string(), loc, online: z.boolean(), batchTable: z.string().optional() })),
  indexes: z.array(z.object({
    name: z.string(),
    loc,
    group: z.string(),
    table: z.string(),
    column: z.string(),
    dim: z.number().int().min(1).max(MAX_VECTOR_DIM),
    embedder: z.discriminatedUnion("kind", [
      z.object({ kind: z.literal("embed"), model: z.string().nullable() }),
      z.object({ kind: z.literal("extern"), fn: z.string() }),
    ]),
    entity: z.string().nullable(),
    keys: z.array(column),
    rowId: column.optional(),
    fields: z.array(column),
  })).optional(),
  agents: z.array(z.object({
    name: z.string(),
    loc,
    entity: z.string(),
    keys: z.array(column).min(1),
    llm: z.string().min(1),
    context: z.array(z.object({ name: z.string(), group: z.string(), type: irType })),
    retrieve: z.array(z.object({ index: z.string(), k: z.number().int().min(1).max(100) })),
    tools: z.array(z.string()),
    prompt: z.array(z.discriminatedUnion("kind", [
      z.object({ kind: z.literal("text"), text: z.string() }),
      z.object({ kind: z.literal("ref"), name: z.string(), ref: z.enum(["key", "feature", "message", "retrieved", "now"]) }),
    ])),
  })).optional(),
});

// ------------------------------------------------------------------ proof: schema ≡ types

/** True only when A and B are the same type (not merely assignable one way). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

const sameSpec: Same<zod.infer<typeof irSchema>, IrSpec> = true;
const sameExpr: Same<zod.infer<typeof irExprUnion>, IrExpr> = true;
void sameSpec;
void sameExpr;
