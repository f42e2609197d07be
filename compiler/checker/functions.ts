// Feature functions: `fn` bodies are checked against their parameters and
// declared return type; `extern fn` signatures are compared with the real
// TypeScript declaration (see extern.ts). Functions are checked callees first
// (order.ts), so a fn may call a fn declared after it, at any chain length;
// recursion, direct or through other fns, is a cycle error.

import path from "node:path";
import type { ExternFnDecl, FnDecl } from "../ast.ts";
import type { IrColumn, IrExpr, IrFunction, IrType } from "../ir.ts";
import { calledFns as callsIn } from "../ir-walk.ts";
import { DIAG } from "../messages.ts";
import { runClauses, type ClauseCheck } from "./clauses.ts";
import type { Ctx, FnSignature } from "./context.ts";
import { checkExpr, type ExprScope } from "./exprs.ts";
import { checkExternSignature } from "./extern.ts";
import { checkOrder, forEachReference } from "./order.ts";
import { baseAssignable, show } from "./types.ts";

export function checkFunctions(ctx: Ctx, decls: Array<FnDecl | ExternFnDecl>): IrFunction[] {
  const byName = new Map(decls.map((d) => [d.name.name, d]));
  const out = new Map<string, IrFunction>();
  const { order, cycles } = checkOrder(decls.map((d) => d.name.name), (name) => calledFns(byName.get(name)));
  for (const cycle of cycles) ctx.report(byName.get(cycle[0])!.name.range, DIAG.cycle.functions(cycle));
  const failedInCycle = new Set(cycles.map((cycle) => cycle[0]));
  // Callees first (order.ts): a call to a fn not checked yet is a call back into a cycle, reported
  // above, so it stays quiet (functionSignature gives undefined).
  for (const name of order) {
    if (ctx.signatures.has(name)) continue; // an imported name, clashing: reported by the imports
    const decl = byName.get(name)!;
    const fn = decl.kind === "fn" ? checkFn(ctx, decl) : checkExtern(ctx, decl);
    const ok = fn && !failedInCycle.has(name);
    const extern = decl.kind === "extern_fn" ? name : fn?.ir.body && externCalled(ctx, fn.ir.body)?.extern;
    ctx.signatures.set(name, ok ? { params: fn.params, returns: fn.returns, bodyNullable: fn.bodyNullable, ...(extern ? { extern } : {}) } : null);
    if (ok) out.set(name, fn.ir);
  }
  return decls.map((d) => out.get(d.name.name)).filter((f): f is IrFunction => !!f);
}

/** The first fn `e` calls that is an extern fn or runs one (its signature says which), with that extern's name. */
export function externCalled(ctx: Ctx, e: IrExpr): { fn: string; extern: string } | undefined {
  for (const fn of callsIn(e)) {
    const extern = ctx.functionSignature(fn)?.extern;
    if (extern) return { fn, extern };
  }
  return undefined;
}

/** The fns a fn's body calls, in the order its check meets them. */
function calledFns(decl: FnDecl | ExternFnDecl | undefined): string[] {
  const out: string[] = [];
  if (decl?.kind === "fn") forEachReference(decl.body, () => undefined, (name) => out.push(name));
  return out;
}

interface CheckedFn {
  ir: IrFunction;
  params: IrColumn[];
  returns: IrFunction["returns"];
  bodyNullable: boolean;
}

function checkParams(ctx: Ctx, decl: FnDecl | ExternFnDecl): IrColumn[] | undefined {
  const params: IrColumn[] = [];
  const seen = new Set<string>();
  let ok = true;
  for (const p of decl.params) {
    const type = ctx.type(p.type);
    if (seen.has(p.name.name)) {
      ctx.report(p.name.range, DIAG.duplicate.fnParam(p.name.name, decl.name.name));
      ok = false;
    }
    seen.add(p.name.name);
    if (!type) ok = false;
    else params.push({ name: p.name.name, type });
  }
  return ok ? params : undefined;
}

/** What a function's clauses fill in, in order. */
interface FnDraft {
  params?: IrColumn[];
  returns?: IrType;
  body?: IrExpr;
}

/** The clauses every function has: its parameters and its declared result type. */
const SIGNATURE_CLAUSES: ReadonlyArray<ClauseCheck<FnDecl | ExternFnDecl, FnDraft>> = [
  { clause: "parameters", check: (ctx, decl, d) => (d.params = checkParams(ctx, decl)) !== undefined },
  { clause: "result type", check: (ctx, decl, d) => (d.returns = ctx.type(decl.returnType)) !== undefined },
];

/** A `fn`: its signature, then its body over the parameters (checked once the signature is known). */
const FN_CLAUSES: ReadonlyArray<ClauseCheck<FnDecl, FnDraft>> = [
  ...SIGNATURE_CLAUSES,
  { clause: "body", check: (ctx, decl, d) => d.params !== undefined && d.returns !== undefined && (d.body = checkFnBody(ctx, decl, d.params, d.returns)) !== undefined },
];

/** An `extern fn`: its signature, then the TypeScript declaration it must match. */
const EXTERN_CLAUSES: ReadonlyArray<ClauseCheck<ExternFnDecl, FnDraft>> = [
  ...SIGNATURE_CLAUSES,
  { clause: "module signature", check: (ctx, decl, d) => d.params !== undefined && d.returns !== undefined && checkExternSignature(ctx, decl, d.params, d.returns) },
];

function checkFn(ctx: Ctx, decl: FnDecl): CheckedFn | undefined {
  const d: FnDraft = {};
  if (!runClauses(ctx, decl, d, FN_CLAUSES)) return undefined;
  const { params, returns, body } = d as Required<FnDraft>;
  return {
    ir: { name: decl.name.name, loc: loc(decl), params, returns, body },
    params,
    returns,
    bodyNullable: body.type.nullable,
  };
}

function checkFnBody(ctx: Ctx, decl: FnDecl, params: IrColumn[], returns: IrType): IrExpr | undefined {
  const byName = new Map(params.map((p) => [p.name, p]));
  const scope: ExprScope = {
    where: `fn \`${decl.name.name}\``,
    kind: "fn",
    lookup: (name) => {
      const p = byName.get(name);
      return p ? { expr: { k: "param", name, type: p.type } } : undefined;
    },
    names: () => byName.keys(),
  };
  const body = checkExpr(ctx, scope, decl.body);
  if (!body) return undefined;
  if (!baseAssignable(body.type, returns)) {
    ctx.report(decl.body.range, DIAG.bodyType.of(decl.name.name, show(body.type), show(returns)), [
      ctx.relatedHere(decl.returnType.range, "declared here"),
    ]);
    return undefined;
  }
  return body;
}

/** An absolute module path as a path from the spec's folder: the generated import is made relative to the output folder from it. */
function specRelative(specDir: string, module: string): string {
  if (!path.isAbsolute(module)) return module;
  const rel = path.relative(specDir, module).split(path.sep).join("/");
  return rel.startsWith(".") ? rel : `./${rel}`;
}

function checkExtern(ctx: Ctx, decl: ExternFnDecl): CheckedFn | undefined {
  const d: FnDraft = {};
  if (!runClauses(ctx, decl, d, EXTERN_CLAUSES)) return undefined;
  const params = d.params!;
  const returns = d.returns!;
  return {
    ir: { name: decl.name.name, loc: loc(decl), params, returns, extern: { module: specRelative(ctx.specDir, decl.module.value), exportName: decl.name.name } },
    params,
    returns,
    bodyNullable: returns.nullable,
  };
}

function loc(decl: { name: { range: FnDecl["range"] } }) {
  return { line: decl.name.range.start.line, column: decl.name.range.start.column };
}
