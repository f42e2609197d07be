// Type helpers for the checker: constructors, display, and the two rules the
// language uses everywhere (int widens to float; null propagates).

import type { IrType, ScalarType } from "../ir.ts";

export const SCALAR_TYPES: readonly ScalarType[] = ["int", "float", "bool", "string", "timestamp"];

export function t(base: IrType["base"], nullable = false): IrType {
  return { base, nullable };
}

export function withNull(type: IrType, nullable = true): IrType {
  return { ...type, nullable: type.nullable || nullable };
}

export function show(type: IrType): string {
  if (type.base === "list") return `list<${type.elem ? show(type.elem) : "?"}>`;
  if (type.base === "vector") return `float[${type.dim}]` + (type.nullable ? "?" : "");
  return type.base + (type.nullable ? "?" : "");
}

export function isNumeric(type: IrType): boolean {
  return type.base === "int" || type.base === "float";
}

/** Can a value of `from` be used where `to`'s base is expected (ignoring nullability)? */
export function baseAssignable(from: IrType, to: IrType): boolean {
  if (from.base === "vector" || to.base === "vector") return from.base === to.base && from.dim === to.dim;
  if (from.base === to.base) return true;
  return from.base === "int" && to.base === "float";
}

/** The common type of two branches or operands (int and float meet at float). */
export function join(a: IrType, b: IrType): IrType | undefined {
  const nullable = a.nullable || b.nullable;
  if (a.base === "vector" || b.base === "vector") return baseAssignable(a, b) ? { ...a, nullable } : undefined;
  if (a.base === b.base) return { base: a.base, nullable };
  if (isNumeric(a) && isNumeric(b)) return { base: "float", nullable };
  return undefined;
}

/** The type `null` literal has before context gives it one. */
export const NULL_TYPE: IrType = { base: "float", nullable: true };

export function vector(dim: number, nullable = false): IrType {
  return { base: "vector", nullable, dim };
}

export function isVector(type: IrType): boolean {
  return type.base === "vector";
}

/**
 * A name the store gives a meaning of its own (in any case: DuckDB's names are case-insensitive):
 * `ingested_at`, the column every stored row gets besides its fields and features, and `rowid`,
 * DuckDB's position of a row, which a column of that name hides from the statements that read it.
 */
export function isStoreColumn(name: string): boolean {
  const lower = name.toLowerCase();
  return lower === "ingested_at" || lower === "rowid";
}
