// What a TypeScript signature means to fti (its parameters' and return's
// base types and nullability), and how it differs from an `extern fn`'s
// declared one: shared by the checker's reading of a signature
// (extern-inspect.ts) and the syntactic one (extern-syntax.ts).

import type { Type } from "ts-morph";
import type { IrColumn, IrType } from "../ir.ts";
import { show } from "./types.ts";

/** The fti base types a TS type can stand for (none when any part maps to none), and whether it admits null. */
export interface MappedType {
  bases: string[];
  nullable: boolean;
}

export interface ActualSignature {
  params: Array<{ name: string; type: MappedType; text: string }>;
  returns: { type: MappedType; text: string };
}

/** How the TypeScript signature differs from the declared one: one sentence per difference. */
export function signatureProblems(declared: { params: IrColumn[]; returns: IrType }, actual: ActualSignature): string[] {
  const { params, returns } = declared;
  const problems: string[] = [];
  if (actual.params.length !== params.length) {
    const n = actual.params.length;
    problems.push(`it takes ${n} parameter${n === 1 ? "" : "s"}, the spec declares ${params.length}`);
  } else {
    params.forEach((p, i) => {
      const a = actual.params[i];
      if (!a.type.bases.includes(p.type.base)) problems.push(`parameter ${i + 1} (\`${p.name}\`) is ${a.text} in TypeScript but ${show(p.type)} in the spec`);
      else if (p.type.nullable && !a.type.nullable) problems.push(`parameter \`${p.name}\` is declared ${show(p.type)} but the TypeScript function does not accept null`);
    });
  }
  const ret = actual.returns;
  if (!ret.type.bases.includes(returns.base)) problems.push(`it returns ${ret.text} in TypeScript but ${show(returns)} in the spec`);
  else if (!returns.nullable && ret.type.nullable) problems.push(`it can return null in TypeScript but the spec declares ${show(returns)}`);
  return problems;
}

/** A checker's type as fti sees it. */
export function mapTsType(type: Type): MappedType {
  const parts = type.isUnion() ? type.getUnionTypes() : [type];
  let nullable = false;
  const bases = new Set<string>();
  for (const p of parts) {
    if (p.isNull() || p.isUndefined()) nullable = true;
    else if (p.isNumber() || p.isNumberLiteral()) { bases.add("float"); bases.add("int"); }
    else if (p.isString() || p.isStringLiteral()) bases.add("string");
    else if (p.isBoolean() || p.isBooleanLiteral()) bases.add("bool");
    else if (p.getText() === "Date") bases.add("timestamp");
    // float[N]: an array of numbers or a Float32Array/Float64Array (the length is checked at run time)
    else if ((p.isArray() || p.isReadonlyArray()) && p.getArrayElementType()?.isNumber()) bases.add("vector");
    else if (p.getText() === "Float32Array" || p.getText() === "Float64Array" || /^Float(32|64)Array<.*>$/.test(p.getText())) bases.add("vector");
    else bases.add("?" + p.getText());
  }
  // `number | null` must not match a base the union doesn't cover entirely.
  if ([...bases].some((b) => b.startsWith("?"))) return { bases: [], nullable };
  return { bases: [...bases], nullable };
}
