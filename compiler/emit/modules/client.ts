// generated/<spec>/client.ts: a typed client of `fti serve`, one function per
// model served online (`predictTimeEstimator(req, opts)` over HTTP, and its
// batch form), plus `createLocalClient()`, the in-process twin that runs the
// same path (online lookup → ODT → MDT → ONNX → request log) without HTTP
// through the runtime's `openLocalClient` (the spec-independent half lives
// there; only the per-model typing is generated).
//
// The request types come from schema.ts; the answer types are spelled out
// per model here (feature and ODT names with their JSON types), so a wrong
// field on either side is a compile error in the caller.
//
// Generated code is type-checked with lib es2023 and no @types: the client
// declares the slice of fetch it uses (FetchLike) instead of naming DOM types.

import type { IrModel, IrSpec, IrType, IrView } from "../../ir.ts";
import { cite, GENERATED_FILES, type EmitContext, type Statement } from "../context.ts";
import { Imports, RUNTIME_MODULE } from "../imports.ts";
import { pascal, str } from "../names.ts";

/** The JSON type of a served value: timestamps travel as ISO strings. */
function jsonType(t: IrType): string {
  switch (t.base) {
    case "int":
    case "float":
    case "duration":
      return "number";
    case "bool":
      return "boolean";
    case "string":
    case "timestamp":
      return "string";
    default:
      return "unknown";
  }
}

function prop(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? name : str(name);
}

/** Stored features the service returns for a view: its own, then those its ODTs read (the lookup's order). */
function servedFeatures(ir: IrSpec, view: IrView): Array<{ name: string; group: string; type: IrType }> {
  const out = view.features.map((f) => ({ name: f.name, group: f.group, type: f.type }));
  for (const odtName of view.odts) {
    const odt = ir.onDemand.find((o) => o.name === odtName);
    for (const p of odt?.featureParams ?? []) if (!out.some((f) => f.name === p.name)) out.push({ name: p.name, group: p.group, type: p.type });
  }
  return out;
}

function servedModels(ir: IrSpec): Array<{ model: IrModel; view: IrView }> {
  return ir.serves
    .filter((s) => s.online)
    .map((s) => {
      const model = ir.models.find((m) => m.name === s.model)!;
      return { model, view: ir.views.find((v) => v.name === model.view)! };
    });
}

/**
 * Runtime names are imported by name here (`imports.rtNamed`): every name this
 * module declares follows a fixed pattern (`predict<Model>`, `<Model>Instance`,
 * `LocalClient`, ...) that cannot spell a runtime export, and its signatures
 * are what users read.
 */
export function clientModule(ctx: EmitContext): Statement[] {
  const imports = new Imports();
  const out: Statement[] = [];
  // The HTTP helper and its error type live in the runtime; re-exported so users import them from here.
  out.push(`export { PredictError, type ClientOptions, type FetchLike } from "${RUNTIME_MODULE}";`);
  for (const served of servedModels(ctx.ir)) out.push(...modelClient(ctx, imports, served));
  out.push(...localClient(ctx, imports));
  return [...imports.statements(GENERATED_FILES), ...out];
}

/** The answer types and the HTTP functions of one model served online. */
function modelClient(ctx: EmitContext, imports: Imports, { model, view }: { model: IrModel; view: IrView }): Statement[] {
  const out: Statement[] = [];
  const P = pascal(model.name);
  const Request = imports.from("schema.ts", `${P}Request`, { type: true });
  const ClientOptions = imports.rtNamed("ClientOptions", { type: true });
  const feats = servedFeatures(ctx.ir, view);
  const groups = [...new Set(feats.map((f) => f.group))];
  const odts = view.odts.map((name) => ctx.ir.onDemand.find((o) => o.name === name)!);
  out.push(`/** ${cite(ctx, model.loc, `One scored instance of model \`${model.name}\`: the prediction, the online features with their statuses, the ODT values`)} */
export interface ${P}Instance {
  prediction: number | null;
  features: {
${feats.map((f) => `    ${prop(f.name)}: ${imports.rtNamed("FeatureValue", { type: true })}<${jsonType(f.type)}>;`).join("\n")}
  };
  odts: {${odts.length ? "\n" + odts.map((o) => `    ${prop(o.name)}: ${jsonType(o.returns)} | null;`).join("\n") + "\n  " : ""}};
  /** Per feature group: event time (ISO) of the online row used; null when not found. */
  feature_times: {${groups.length ? "\n" + groups.map((g) => `    ${prop(g)}: string | null;`).join("\n") + "\n  " : ""}};
  request_id: string;
}`);
  out.push(`/** ${cite(ctx, model.loc, `The answer of model \`${model.name}\` to one request`)} */
export interface ${P}Prediction extends ${P}Instance {
  model: ${str(model.name)};
  version: number;
  request_time: string;
}`);
  out.push(`/** ${cite(ctx, model.loc, `The answer of model \`${model.name}\` to \`{"instances": [...]}\``)} */
export interface ${P}BatchPrediction {
  model: ${str(model.name)};
  version: number;
  request_time: string;
  predictions: ${P}Instance[];
}`);
  out.push(`/** ${cite(ctx, model.loc, `POST /v1/models/${model.name}/predict: one request`)} */
export async function predict${P}(req: ${Request}, opts: ${ClientOptions} = {}): Promise<${P}Prediction> {
  return (await ${imports.rtNamed("postPrediction")}(${str(model.name)}, req, opts)) as ${P}Prediction;
}`);
  out.push(`/** ${cite(ctx, model.loc, `POST /v1/models/${model.name}/predict: several requests in one call`)} */
export async function predict${P}Batch(instances: ${Request}[], opts: ${ClientOptions} = {}): Promise<${P}BatchPrediction> {
  return (await ${imports.rtNamed("postPrediction")}(${str(model.name)}, { instances }, opts)) as ${P}BatchPrediction;
}`);
  return out;
}

/** `createLocalClient()`: the served models in this process, typed per model over the runtime's `openLocalClient`. */
function localClient(ctx: EmitContext, imports: Imports): Statement[] {
  const served = servedModels(ctx.ir);
  const out: Statement[] = [];
  const members = served.flatMap(({ model }) => {
    const P = pascal(model.name);
    return [`  predict${P}(req: ${P}Request): Promise<${P}Prediction>;`, `  predict${P}Batch(instances: ${P}Request[]): Promise<${P}BatchPrediction>;`];
  });
  out.push(`/** The served models in this process: the same answers as the HTTP functions, without a server. */
export interface LocalClient {
${members.join("\n")}${members.length ? "\n" : ""}  /** Re-reads the registry and the online tables (after \`fti models promote\` or \`fti materialize\`). */
  reload(): Promise<void>;
  /** Flushes the request log. */
  close(): Promise<void>;
}`);
  const impl = served.flatMap(({ model }) => {
    const P = pascal(model.name);
    return [
      `    predict${P}: async (req) => (await local.call(${str(model.name)}, req)) as ${P}Prediction,`,
      `    predict${P}Batch: async (instances) => (await local.call(${str(model.name)}, { instances })) as ${P}BatchPrediction,`,
    ];
  });
  out.push(`/**
 * Loads this spec's served models and online features from the store
 * (default $FTI_STORE, else .fti/store.duckdb) into this process. Requests
 * are validated, scored and logged exactly as \`fti serve\` does.
 */
export async function createLocalClient(opts: ${imports.rtNamed("LocalServiceOptions", { type: true })} = {}): Promise<LocalClient> {
  const { spec } = await import("./index.ts");
  const local = await ${imports.rtNamed("openLocalClient")}(spec, opts);
  return {
${impl.join("\n")}${impl.length ? "\n" : ""}    reload: local.reload,
    close: local.close,
  };
}`);
  return out;
}
