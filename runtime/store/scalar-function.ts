// A JS function as a DuckDB scalar function: arguments converted from DuckDB
// values, the result converted to the declared return type, NULL handling as
// the signature says, and a throw reported as the query's error.

import { ANY, DuckDBScalarFunction, type DuckDBVector } from "@duckdb/node-api";
import type { ColumnType } from "../api.ts";
import { vectorDim } from "../vector-type.ts";
import { duckType, fromDuckArg, toDuck } from "./values.ts";

export interface ScalarFunctionSignature {
  /** Parameter types; omitted = any number of arguments of any type. */
  params?: ColumnType[];
  returns: ColumnType;
  /** Call the function for NULL arguments too (default: NULL in → NULL out without calling it). */
  nullable?: boolean;
  /** With `nullable`: the parameters that still give NULL without a call when their argument is NULL. */
  nonNullParams?: boolean[];
}

export function scalarFunction(name: string, signature: ScalarFunctionSignature, fn: (...args: any[]) => unknown): DuckDBScalarFunction {
  const returnType = duckType(signature.returns);
  const retId = returnType.typeId;
  const retLength = vectorDim(signature.returns) ?? undefined;
  return DuckDBScalarFunction.create({
    name,
    returnType,
    ...(signature.params ? { parameterTypes: signature.params.map(duckType) } : { varArgsType: ANY }),
    specialHandling: signature.nullable ?? !signature.params,
    mainFunction: (info, input, output) => {
      const n = input.rowCount;
      const nArgs = input.columnCount;
      const vecs: DuckDBVector[] = [];
      for (let c = 0; c < nArgs; c++) vecs.push(input.getColumnVector(c));
      const args: unknown[] = new Array(nArgs);
      try {
        for (let i = 0; i < n; i++) {
          let skip = false;
          for (let c = 0; c < nArgs; c++) {
            args[c] = fromDuckArg(vecs[c].getItem(i));
            if (args[c] === null && signature.nonNullParams?.[c]) skip = true;
          }
          // A null argument for a parameter declared non-null: null, without calling the function.
          const r = skip ? null : fn(...args);
          output.setItem(i, r === undefined ? null : toDuck(r, retId, `${name}()`, retLength));
        }
        output.flush();
      } catch (e) {
        info.setError(`${name}: ${(e as Error).message ?? String(e)}`);
      }
    },
  });
}
