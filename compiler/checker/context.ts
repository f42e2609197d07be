// The checker's shared state for one spec: the diagnostics, the global symbol
// table (every top-level declaration shares one namespace), use tracking for
// the unused-declaration warnings, and resolved function signatures.

import type { Decl, NamedDecl, Range, TypeRef } from "../ast.ts";
import { MAX_VECTOR_DIM, type IrColumn, type IrType } from "../ir.ts";
import { closest, DiagnosticBag, type Diagnostic } from "../diagnostics.ts";
import { SCALAR_TYPES, t, vector } from "./types.ts";

export interface FnSignature {
  params: IrColumn[];
  returns: IrType;
  /** True when the body can produce null even with non-null arguments (e.g. it divides). */
  bodyNullable: boolean;
}

export class Ctx {
  readonly diags = new DiagnosticBag();
  readonly symbols = new Map<string, NamedDecl>();
  readonly used = new Set<string>();
  /**
   * Names whose declaration already failed with an error (a field of unknown
   * type, a feature that did not check). Using one reports nothing more: the
   * first error is the one to fix.
   */
  readonly poisoned = new Set<string>();
  /** Other files a diagnostic points into (extern modules), for excerpts. */
  readonly extraSources = new Map<string, string>();
  readonly signatures = new Map<string, FnSignature | null>();
  /** Set by the function checker: checks a fn on first use, so signatures resolve in dependency order. */
  resolveFn?: (name: string) => FnSignature | undefined;

  constructor(
    readonly file: string,
    readonly specDir: string,
  ) {}

  error(code: number, range: Range, message: string, extra: Partial<Diagnostic> = {}): void {
    this.diags.error(code, this.file, range, message, extra);
  }

  warning(code: number, range: Range, message: string, extra: Partial<Diagnostic> = {}): void {
    this.diags.warning(code, this.file, range, message, extra);
  }

  useDecl(name: string): void {
    this.used.add(name);
  }

  functionSignature(name: string): FnSignature | undefined {
    if (!this.signatures.has(name) && this.resolveFn) return this.resolveFn(name);
    return this.signatures.get(name) ?? undefined;
  }

  functionNames(): string[] {
    return [...this.symbols.values()].filter((d) => d.kind === "fn" || d.kind === "extern_fn").map((d) => d.name.name);
  }

  /** Looks up a declaration of the expected kind, reporting unknown names and wrong kinds. */
  resolve<K extends NamedDecl["kind"]>(name: { name: string; range: Range }, kinds: K[], what: string): Extract<NamedDecl, { kind: K }> | undefined {
    const decl = this.symbols.get(name.name);
    if (!decl) {
      const candidates = [...this.symbols.values()].filter((d) => (kinds as string[]).includes(d.kind)).map((d) => d.name.name);
      const hint = closest(name.name, candidates);
      this.error(2003, name.range, `unknown ${what} \`${name.name}\``, hint ? { hint: `did you mean \`${hint}\`?` } : {});
      return undefined;
    }
    if (!(kinds as string[]).includes(decl.kind)) {
      this.error(2004, name.range, `\`${name.name}\` is ${article(kindLabel(decl.kind))}, not ${article(what)}`);
      return undefined;
    }
    this.useDecl(name.name);
    return decl as Extract<NamedDecl, { kind: K }>;
  }

  /** Resolves a written type (`float?`), reporting unknown type names. */
  type(ref: TypeRef): IrType | undefined {
    if (ref.dim) return this.vectorType(ref, ref.dim);
    if ((SCALAR_TYPES as readonly string[]).includes(ref.name)) return t(ref.name as IrType["base"], ref.nullable);
    const hint = closest(ref.name, SCALAR_TYPES);
    this.error(3001, ref.range, `unknown type \`${ref.name}\`; the types are ${SCALAR_TYPES.join(", ")}`, hint ? { hint: `did you mean \`${hint}\`?` } : {});
    return undefined;
  }

  /** A written type where only scalars can go (source fields, keys, ODTs): a vector is FTI3102. */
  scalarType(ref: TypeRef, where: string): IrType | undefined {
    const type = this.type(ref);
    if (type?.base !== "vector") return type;
    this.error(3102, ref.range, `${where} cannot be a vector (\`${ref.name}[${type.dim}]\`); vectors are features of feature groups, computed by \`embed\` or an extern fn`);
    return undefined;
  }

  /** `float[N]`: only float vectors, 1 <= N <= MAX_VECTOR_DIM. */
  private vectorType(ref: TypeRef, dim: { value: number; range: Range }): IrType | undefined {
    if (ref.name !== "float") {
      this.error(3101, ref.range, `\`${ref.name}[${dim.value}]\` is not a type: only float vectors exist`, { hint: `write \`float[${dim.value}]\`` });
      return undefined;
    }
    if (!checkVectorDim(this, dim.value, dim.range)) return undefined;
    return vector(dim.value, ref.nullable);
  }
}

/** Reports FTI3101 unless `dim` is a whole number in 1..MAX_VECTOR_DIM. */
export function checkVectorDim(ctx: Ctx, dim: number, range: Range): boolean {
  if (Number.isInteger(dim) && dim >= 1 && dim <= MAX_VECTOR_DIM) return true;
  ctx.error(3101, range, `a vector's length must be a whole number from 1 to ${MAX_VECTOR_DIM}, not ${Number.isNaN(dim) ? "this" : dim}`);
  return false;
}

export function kindLabel(kind: Decl["kind"]): string {
  switch (kind) {
    case "source": return "source";
    case "entity": return "entity";
    case "fn": return "fn";
    case "extern_fn": return "extern fn";
    case "feature_group": return "feature group";
    case "on_demand": return "on-demand transformation";
    case "view": return "view";
    case "model": return "model";
    case "serve": return "serve block";
    case "index": return "index";
    case "agent": return "agent";
  }
}

function article(noun: string): string {
  return (/^[aeiou]/.test(noun) ? "an " : "a ") + noun;
}
