// The one validation of a view's request fields by the spine source's
// `check`s (issue 11 #6): the same check expressions the feature pipeline
// lowers to SQL to quarantine training rows, generated once as a TypeScript
// function in schema.ts. Online, the model's request schema refines with it
// (a 400 at the field); batch scoring calls it on every row of an entities
// file (the view plan's `checkRequest`) and rejects the rows it flags.

import type { IrBinaryOp, IrExpr, IrType, IrView } from "../ir.ts";
import { allowedText, checkText } from "../../runtime/allowed-text.ts";
import { columnsOf, hasCall } from "../ir-walk.ts";
import { cite, tsExpr, type EmitContext } from "./context.ts";
import type { Imports } from "./imports.ts";
import { pascal, str, tsType } from "./names.ts";

interface RequestCheck {
  field: string;
  expr: IrExpr;
  message: string;
}

/** The name of the view's check function in schema.ts. */
export function requestCheckName(view: IrView): string {
  return `check${pascal(view.name)}Request`;
}

/**
 * The checks of the spine source's columns that request fields come from.
 * Checks that read columns the request does not carry, or call a `fn`, are
 * left out (they stay training-side only).
 */
function requestChecks(ctx: EmitContext, view: IrView): RequestCheck[] {
  const source = ctx.ir.sources.find((s) => s.name === view.spine.source);
  if (!source) return [];
  const have = new Set(requestFieldTypes(view).map(([n]) => n));
  const out: RequestCheck[] = [];
  for (const r of view.requestFields) {
    const field = source.fields.find((f) => f.name === r.name);
    // `in (...)`: a value outside the list is quarantined in training, so a request with one is refused too.
    if (field?.allowed?.length) {
      const text = `in (${allowedText(field.allowed, (v) => (typeof v === "string" ? str(v) : String(v)))})`;
      out.push({ field: r.name, expr: allowedExpr(field.name, field.type, field.allowed), message: `${text} failed: source \`${source.name}\` quarantines such rows, so the model never saw one` });
    }
    for (const check of field?.checks ?? []) {
      if (hasCall(check.expr) || [...columnsOf(check.expr)].some((c) => !have.has(c))) continue;
      out.push({ field: r.name, expr: check.expr, message: `${checkText(check.text)} failed: source \`${source.name}\` quarantines such rows, so the model never saw one` });
    }
  }
  return out;
}

/** `field in (v, …)` as an IR expression over the request's field. */
function allowedExpr(name: string, type: IrType, allowed: ReadonlyArray<string | number | boolean>): IrExpr {
  const valueType: IrType = { base: type.base, nullable: false };
  return {
    k: "in",
    arg: { k: "col", name, type },
    values: allowed.map((v) => ({ k: "lit", type: valueType, value: v })),
    type: { base: "bool", nullable: type.nullable },
  };
}

/** True when the view has request checks (and schema.ts a check function for it). */
export function hasRequestChecks(ctx: EmitContext, view: IrView): boolean {
  return requestChecks(ctx, view).length > 0;
}

/** `export function check<View>Request(r) { ... }` for schema.ts, or null when the view has no request checks. */
export function requestCheckFunction(ctx: EmitContext, imports: Imports, view: IrView): string | null {
  const checks = requestChecks(ctx, view);
  if (checks.length === 0) return null;
  const issue = imports.rt("RequestIssue");
  const read = new Set(checks.flatMap((c) => [...columnsOf(c.expr)]));
  const param = requestFieldTypes(view)
    .filter(([n]) => read.has(n))
    .map(([n, t]) => `${n}: ${tsType(t)}`)
    .join("; ");
  const lines = checks.map((c) => {
    const ts = tsExpr(ctx, imports, "schema.ts", c.expr, (n) => `r.${n}`);
    // Never evaluated on a field whose type failed (`failed`: the same 400 lists that field's type error).
    const skip = [...columnsOf(c.expr)].map((n) => `!failed?.has(${str(n)}) && `).join("");
    return `  if (${skip}(${ts}) === false) issues.push({ field: ${str(c.field)}, message: ${str(c.message)} });`;
  });
  const doc = cite(ctx, view.loc, `The \`check\`s of source \`${view.spine.source}\` on the request fields of view \`${view.name}\`: online requests (a 400) and batch rows (a reject); a check reading a field in \`failed\` (its type failed) is skipped`);
  return `\n/** ${doc} */
export function ${requestCheckName(view)}(r: { ${param} }, failed?: ReadonlySet<string>): ${issue}[] {
  const issues: ${issue}[] = [];
${lines.join("\n")}
  return issues;
}`;
}

/** The entity keys and the request fields of a view, with their types (the fields of an online request). */
export function requestFieldTypes(view: IrView): Array<[string, IrType]> {
  const request = view.requestFields.filter((r) => !view.keys.some((k) => k.name === r.name));
  return [...view.keys.map((k) => [k.name, k.type] as [string, IrType]), ...request.map((r) => [r.name, r.type] as [string, IrType])];
}

/** A JSON-schema keyword for a bound, and whether a larger value is tighter. */
const BOUND: Partial<Record<IrBinaryOp, { key: string; tighter: (a: number, b: number) => boolean }>> = {
  ">": { key: "exclusiveMinimum", tighter: (a, b) => a > b },
  ">=": { key: "minimum", tighter: (a, b) => a > b },
  "<": { key: "exclusiveMaximum", tighter: (a, b) => a < b },
  "<=": { key: "maximum", tighter: (a, b) => a < b },
};
const MIRROR: Partial<Record<IrBinaryOp, IrBinaryOp>> = { ">": "<", ">=": "<=", "<": ">", "<=": ">=" };

/** A number literal (`-60` is a negated literal), else undefined. */
function numberLit(e: IrExpr): number | undefined {
  if (e.k === "lit") return typeof e.value === "number" ? e.value : undefined;
  if (e.k === "unary" && e.op === "neg") {
    const v = numberLit(e.arg);
    return v === undefined ? undefined : -v;
  }
  return undefined;
}

/** The bounds a check puts on `field`: `field op number` (either side), and `and`s of them; null when it has no exact JSON-schema form. */
function checkBounds(e: IrExpr, field: string): Array<[IrBinaryOp, number]> | null {
  if (e.k !== "binary") return null;
  if (e.op === "and") {
    const l = checkBounds(e.left, field);
    const r = checkBounds(e.right, field);
    return l && r ? [...l, ...r] : null;
  }
  if (!BOUND[e.op]) return null;
  const isField = (x: IrExpr) => x.k === "col" && x.name === field;
  const left = numberLit(e.left);
  const right = numberLit(e.right);
  if (isField(e.left) && right !== undefined) return [[e.op, right]];
  if (isField(e.right) && left !== undefined) return [[MIRROR[e.op]!, left]];
  return null;
}

/**
 * JSON-schema keywords per request field from the same checks: `in (...)` as
 * `enum`, a number field's bounds as minimum / exclusiveMinimum / maximum /
 * exclusiveMaximum (the tighter of two). The agent's tool parameters carry them
 * so the LLM sees them; requests are still refused by the check function. A
 * check with no exact form (an `or`, a call, another field) adds nothing.
 */
export function requestFieldHints(ctx: EmitContext, view: IrView): Record<string, Record<string, unknown>> {
  const source = ctx.ir.sources.find((s) => s.name === view.spine.source);
  const out: Record<string, Record<string, unknown>> = {};
  for (const r of view.requestFields) {
    const field = source?.fields.find((f) => f.name === r.name);
    if (!field) continue;
    const hint: Record<string, unknown> = {};
    if (field.allowed?.length) hint.enum = [...field.allowed];
    if (field.type.base === "int" || field.type.base === "float") {
      for (const check of field.checks) {
        for (const [op, value] of checkBounds(check.expr, field.name) ?? []) {
          const { key, tighter } = BOUND[op]!;
          if (hint[key] === undefined || tighter(value, hint[key] as number)) hint[key] = value;
        }
      }
    }
    if (Object.keys(hint).length) out[r.name] = hint;
  }
  return out;
}
