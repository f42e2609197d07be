// The checker's shared state for one spec: the diagnostics, the global symbol
// table (every top-level declaration shares one namespace), use tracking for
// the unused-declaration warnings, and resolved function signatures.

import type { Decl, Ident, NamedDecl, Range, TypeRef } from "../ast.ts";
import { MAX_VECTOR_DIM, type IrColumn, type IrType } from "../ir.ts";
import { DiagnosticBag, type RelatedInfo } from "../diagnostics.ts";
import type { FixSource } from "../fixes.ts";
import { DIAG, type Message } from "../messages.ts";
import { sourceRoots } from "../../runtime/features/source-paths.ts";
import { SCALAR_TYPES, t, vector } from "./types.ts";

export interface FnSignature {
  params: IrColumn[];
  returns: IrType;
  /** True when the body can produce null even with non-null arguments (e.g. it divides). */
  bodyNullable: boolean;
  /** The extern fn it runs: its own name for an extern fn, else the first one its body calls, directly or through fns. */
  extern?: string;
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
  /** Imported names: the import specifier and the module path as written. */
  readonly imported = new Map<string, { ident: Ident; module: string }>();
  /** Names of imports that failed (reported at the import): their uses report nothing more. */
  readonly silent = new Set<string>();
  private roots?: string[];

  constructor(
    readonly file: string,
    readonly specDir: string,
    /** The spec's text and declarations, to place quick fixes that add a clause. */
    readonly source?: FixSource,
  ) {}

  /** The folders a source path may lie in (runtime/features/source-paths.ts), read once per check, not once per source. */
  sourceRoots(): string[] {
    return (this.roots ??= sourceRoots(this.specDir));
  }

  /** Reports a message of the catalogue (`DIAG` in ../messages.ts) at a range of the spec. */
  report(range: Range, m: Message, related?: RelatedInfo[]): void {
    this.diags.add(this.file, range, m, related, this.source);
  }

  /** The other place a diagnostic involves, in this spec: "declared here". */
  relatedHere(range: Range, message: string): RelatedInfo {
    return { file: this.file, range, message };
  }

  useDecl(name: string): void {
    this.used.add(name);
  }

  functionSignature(name: string): FnSignature | undefined {
    return this.signatures.get(name) ?? undefined;
  }

  /** The declared function names, lazily: a "did you mean" reads only as many as it looks at. */
  *functionNames(): Iterable<string> {
    for (const d of this.symbols.values()) if (d.kind === "fn" || d.kind === "extern_fn") yield d.name.name;
  }

  /** The names of the declarations of these kinds, lazily. */
  *declarationNames(kinds: readonly string[]): Iterable<string> {
    for (const d of this.symbols.values()) if (kinds.includes(d.kind)) yield d.name.name;
  }

  /** Looks up a declaration of the expected kind, reporting unknown names and wrong kinds. */
  resolve<K extends NamedDecl["kind"]>(name: { name: string; range: Range }, kinds: K[], what: string): Extract<NamedDecl, { kind: K }> | undefined {
    const decl = this.symbols.get(name.name);
    if (!decl && this.silent.has(name.name)) return undefined;
    if (!decl) {
      this.report(name.range, DIAG.unknownDeclaration.of(what, name.name, this.declarationNames(kinds)));
      return undefined;
    }
    if (!(kinds as string[]).includes(decl.kind)) {
      this.report(name.range, DIAG.wrongKind.of(name.name, article(kindLabel(decl.kind)), article(what)));
      return undefined;
    }
    this.useDecl(name.name);
    return decl as Extract<NamedDecl, { kind: K }>;
  }

  /** Resolves a written type (`float?`), reporting unknown type names. */
  type(ref: TypeRef): IrType | undefined {
    if (ref.dim) return this.vectorType(ref, ref.dim);
    if ((SCALAR_TYPES as readonly string[]).includes(ref.name)) return t(ref.name as IrType["base"], ref.nullable);
    this.report(ref.range, DIAG.unknownType.named(ref.name, SCALAR_TYPES));
    return undefined;
  }

  /** A written type where only scalars can go (source fields, keys, ODTs): a vector is FTI3102. */
  scalarType(ref: TypeRef, where: string): IrType | undefined {
    const type = this.type(ref);
    if (type?.base !== "vector") return type;
    this.report(ref.range, DIAG.vectorScalar.written(where, ref.name, type.dim!));
    return undefined;
  }

  /** `float[N]`: only float vectors, 1 <= N <= MAX_VECTOR_DIM. */
  private vectorType(ref: TypeRef, dim: { value: number; range: Range }): IrType | undefined {
    if (ref.name !== "float") {
      this.report(ref.range, DIAG.vectorType.notFloat(ref.name, dim.value));
      return undefined;
    }
    if (!checkVectorDim(this, dim.value, dim.range)) return undefined;
    return vector(dim.value, ref.nullable);
  }
}

/** Reports FTI3101 unless `dim` is a whole number in 1..MAX_VECTOR_DIM. */
export function checkVectorDim(ctx: Ctx, dim: number, range: Range): boolean {
  if (Number.isInteger(dim) && dim >= 1 && dim <= MAX_VECTOR_DIM) return true;
  ctx.report(range, DIAG.vectorType.length(dim, MAX_VECTOR_DIM));
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
