// generated/<spec>/transforms.ts: the only copy of every ODT and MDT step
// (training and serving both run this code), stamped with TRANSFORMS_HASH, a
// sha256 of the file's own code, comments left out, and per model with
// MODEL_TRANSFORMS_HASHES, a sha256 of the part of that code the model runs
// (project.ts fills both in: `modelTransformUnits` says which part).

import crypto from "node:crypto";
import type { IrFunction, IrMdt, IrModel, IrModelInput, IrOdt, IrSpec } from "../../ir.ts";
import { fnsCalledFrom } from "../../ir-walk.ts";
import { tsMorph } from "../../ts-project.ts";
import { cite, GENERATED_FILES, tsExpr, type EmitContext, type Statement } from "../context.ts";
import { Imports } from "../imports.ts";
import { tsLiteral, tsType } from "../names.ts";

export const HASH_PLACEHOLDER = "__FTI_TRANSFORMS_HASH__";
/** Where a model's hash goes in MODEL_TRANSFORMS_HASHES until project.ts computes it. */
export const modelHashPlaceholder = (model: string) => `__FTI_MODEL_TRANSFORMS_HASH_${model}__`;
/** Every such placeholder, quoted as emitted; the model's name is the first group. */
export const MODEL_HASH_PLACEHOLDERS = /"__FTI_MODEL_TRANSFORMS_HASH_(\w+)__"/g;

/** Per model, what of transforms.ts it runs; and every declaration emitted for some model or ODT, or for none. */
export interface ModelTransformUnits {
  /** `extra`: what the declarations' text does not show (the fns they call, the ODTs' declared signatures). */
  models: Array<{ model: string; declarations: string[]; extra: string }>;
  /**
   * Names of the declarations above (every ODT, every model's steps and
   * encode) and of the hash constants: any other declaration of the file (a
   * helper several could call) counts in every model's hash.
   */
  owned: string[];
}

/**
 * Per model, what of transforms.ts its training and inference run: the
 * declarations (its MDT steps and encode, every ODT of its view: training
 * computes them all over the spine, and its input builder runs them all on a
 * request), the fingerprint of the fns those ODTs call (their code is in
 * functions.ts) and those ODTs' declared signatures (the generated functions
 * take every value as nullable, but training's guard and the request schema
 * follow the declaration: `request x: float` gives null without a call, `x:
 * float?` calls the ODT with null). Its hash covers these, and what no model
 * or ODT owns.
 */
export function modelTransformUnits(ir: IrSpec): ModelTransformUnits {
  const models = ir.models.map((model) => {
    const odts = modelOdts(ir, model);
    return {
      model: model.name,
      declarations: [...odts.map((o) => o.name), ...modelDeclarations(model.name)],
      extra: `fns:${functionsFingerprint(ir.functions, odts) ?? ""}\nodts:${odtSignatures(odts)}`,
    };
  });
  const owned = [...HASH_CONSTANTS, ...ir.onDemand.map((o) => o.name), ...ir.models.flatMap((m) => modelDeclarations(m.name))];
  return { models, owned };
}

/** The ODTs a model runs: its view's, and any its inputs name (the checker keeps them in the view: counted either way). */
export function modelOdts(ir: IrSpec, model: IrModel): IrOdt[] {
  const names = new Set([...(ir.views.find((v) => v.name === model.view)?.odts ?? []), ...model.inputs.filter((i) => i.from === "odt").map((i) => i.name)]);
  return ir.onDemand.filter((o) => names.has(o.name));
}

/** The constants this module emits before the code: none is code a model runs. */
const HASH_CONSTANTS = ["TRANSFORMS_HASH", "MODEL_TRANSFORMS_HASHES", "FUNCTIONS_FINGERPRINT"];

const modelDeclarations = (model: string) => [`${model}_steps`, `encode_${model}`];

/** sha256 of the ODTs' declared parameters (request fields, features with their groups) and result, with their types. */
function odtSignatures(odts: IrOdt[]): string {
  const signatures = odts.map((o) => ({ name: o.name, requestParams: o.requestParams, featureParams: o.featureParams, returns: o.returns }));
  return "sha256:" + crypto.createHash("sha256").update(JSON.stringify(signatures)).digest("hex");
}

export function transformsModule(ctx: EmitContext): Statement[] {
  const imports = new Imports();
  const body: Statement[] = [];
  body.push(`/** sha256 of this file's code (this constant's value blanked, comment lines left out): the file is refused when its text no longer has it (a hand edit), and a model version trained before per-model hashes, which stored it, serves while it is unchanged. */\nexport const TRANSFORMS_HASH = "${HASH_PLACEHOLDER}";`);
  const fingerprint = functionsFingerprint(ctx.ir.functions, ctx.ir.onDemand);
  if (fingerprint) {
    body.push(
      `/** The fns the ODTs call (functions.ts), by their checked definitions: TRANSFORMS_HASH covers this line, so a changed fn changes it. */\nexport const FUNCTIONS_FINGERPRINT = "${fingerprint}";`,
    );
  }
  if (ctx.ir.models.length) {
    const entries = ctx.ir.models.map((m) => `  ${m.name}: "${modelHashPlaceholder(m.name)}",`);
    body.push(
      `/** Per model, sha256 of the code here its training and inference run (its MDT steps and encode, its view's ODTs, the fns they call): the registry stores it with each version, and inference refuses a version whose hash differs. Another model's code does not count. */\nexport const MODEL_TRANSFORMS_HASHES: Record<string, string> = {\n${entries.join("\n")}\n};`,
    );
  } else {
    body.push(`/** Per model, sha256 of the code here its training and inference run (no models). */\nexport const MODEL_TRANSFORMS_HASHES: Record<string, string> = {};`);
  }
  for (const odt of ctx.ir.onDemand) body.push(odtStructure(ctx, imports, odt));
  for (const model of ctx.ir.models) {
    body.push(stepsConst(ctx, imports, model));
    body.push(encodeFunction(ctx, imports, model));
  }
  return [...imports.statements(GENERATED_FILES), ...body];
}

function odtStructure(ctx: EmitContext, imports: Imports, odt: IrOdt): Statement {
  const params = [...odt.requestParams, ...odt.featureParams].map((p) => ({ name: p.name, type: tsType(p.type, true) }));
  return {
    kind: tsMorph().StructureKind.Function,
    name: odt.name,
    isExported: true,
    docs: [cite(ctx, odt.loc, `ODT \`${odt.name}\`: runs online and over the training spine`, odt.module)],
    parameters: params,
    returnType: tsType(odt.returns, true),
    statements: [`return ${tsExpr(ctx, imports, "transforms.ts", odt.body, (n) => n)};`],
  };
}

/** The one implementation of each MDT step, as `apply(value, fittedState)`. */
function stepCode(mdt: IrMdt, imports: Imports): { params: string; apply: string } {
  switch (mdt.kind) {
    case "standard_scale":
      return { params: "{}", apply: `(v, s: ${imports.rt("StandardScaleState")}) => (v === null ? null : ((v as number) - s.mean) / s.std)` };
    case "min_max_scale":
      return { params: "{}", apply: `(v, s: ${imports.rt("MinMaxScaleState")}) => (v === null ? null : s.max === s.min ? 0 : ((v as number) - s.min) / (s.max - s.min))` };
    case "log1p":
      return { params: "{}", apply: "(v) => (v === null || (v as number) <= -1 ? null : Math.log1p(v as number))" };
    case "clip": {
      const lo = mdt.min === null ? "v as number" : `Math.max(v as number, ${mdt.min})`;
      const hi = mdt.max === null ? lo : `Math.min(${lo}, ${mdt.max})`;
      return { params: tsLiteral({ min: mdt.min, max: mdt.max }), apply: `(v) => (v === null ? null : ${hi})` };
    }
    case "impute":
      return {
        params: tsLiteral({ strategy: mdt.strategy, ...(mdt.value !== undefined ? { value: mdt.value } : {}) }),
        apply: `(v, s: ${imports.rt("ImputeState")}) => (v === null ? s.value : v)`,
      };
    case "bucketize":
      return {
        params: tsLiteral({ boundaries: mdt.boundaries }),
        apply: `(v) => {\n  if (v === null) return null;\n  const b = ${tsLiteral(mdt.boundaries)};\n  let i = 0;\n  while (i < b.length && (v as number) >= b[i]) i++;\n  return i;\n}`,
      };
    case "one_hot":
      return { params: tsLiteral(mdt.categories ? { categories: mdt.categories } : {}), apply: "(v) => v" };
  }
}

function stepsConst(ctx: EmitContext, imports: Imports, model: IrModel): Statement {
  const entries = model.inputs.map((input) => {
    const steps = input.mdts.map((m) => {
      const c = stepCode(m, imports);
      return `{ kind: "${m.kind}", params: ${c.params.replace(/\n\s*/g, " ")}, apply: ${c.apply} }`;
    });
    return `  ${input.name}: [${steps.length ? `\n    ${steps.join(",\n    ")},\n  ` : ""}],`;
  });
  const doc = cite(ctx, model.loc, `MDT steps of model \`${model.name}\`, per input, applied left to right`);
  return `/** ${doc} */\nexport const ${model.name}_steps: Record<string, ${imports.rt("MdtStep")}[]> = {\n${entries.join("\n")}\n};`;
}

function encodeFunction(ctx: EmitContext, imports: Imports, model: IrModel): Statement {
  const Scalar = imports.rt("Scalar");
  const lines: string[] = ["let o = offset;", `let v: ${Scalar};`];
  for (const input of model.inputs) lines.push(...encodeInput(model, input, imports));
  const doc = cite(ctx, model.loc, `Encodes one row of model \`${model.name}\`'s inputs into its matrix with the fitted MDT state; null becomes NaN`);
  const signature = `encode_${model.name}(row: Record<string, ${Scalar}>, state: ${imports.rt("FittedState")}, out: Float32Array, offset: number): void`;
  return `/** ${doc} */\nexport function ${signature} {\n${lines.map((l) => "  " + l).join("\n")}\n}`;
}

function encodeInput(model: IrModel, input: IrModelInput, imports: Imports): string[] {
  const lines = [`// ${input.name}${input.mdts.length ? ": " + input.mdts.map((m) => m.kind).join(" → ") : ""}`, `v = row.${input.name} ?? null;`];
  input.mdts.forEach((m, i) => {
    if (m.kind !== "one_hot") lines.push(`v = ${model.name}_steps.${input.name}[${i}].apply(v, state.inputs.${input.name}[${i}]);`);
  });
  if (input.mdts.at(-1)?.kind === "one_hot") {
    const i = input.mdts.length - 1;
    lines.push(
      `{`,
      `  const categories = (state.inputs.${input.name}[${i}] as ${imports.rt("OneHotState")}).categories;`,
      `  const hit = v === null ? -1 : categories.indexOf(String(v));`,
      `  for (let j = 0; j < categories.length; j++) out[o + j] = j === hit ? 1 : 0;`,
      `  o += categories.length;`,
      `}`,
    );
  } else {
    lines.push(`out[o++] = v === null ? NaN : typeof v === "boolean" ? (v ? 1 : 0) : (v as number);`);
  }
  return lines;
}

/**
 * sha256 of the definitions (not the places) of every fn the ODTs call, directly
 * or through other fns; undefined when they call none. Their code lives in
 * functions.ts, outside the hashed file: without this, a model would be served
 * with a changed fn and the same TRANSFORMS_HASH. An extern fn counts by its
 * module and export name (its implementation is the user's TypeScript).
 */
function functionsFingerprint(functions: IrFunction[], odts: IrOdt[]): string | undefined {
  const byName = new Map(functions.map((f) => [f.name, f]));
  const used = fnsCalledFrom(odts.map((o) => o.body), functions);
  if (!used.size) return undefined;
  const definitions = [...used].sort().map((name) => {
    const { loc: _loc, ...definition } = byName.get(name)!;
    return definition;
  });
  return "sha256:" + crypto.createHash("sha256").update(JSON.stringify(definitions)).digest("hex");
}
