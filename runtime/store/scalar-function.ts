// A JS function as a DuckDB scalar function: arguments converted from DuckDB
// values, the result converted to the declared return type, NULL handling as
// the signature says, and a throw reported as the query's error.

import { ANY, DuckDBScalarFunction, DuckDBTypeId, type DuckDBVector } from "@duckdb/node-api";
import type { ColumnType } from "../api.ts";
import { vectorDim } from "../vector-type.ts";
import { duckType, fromDuckArg, readItem, readNumbers, toDuck } from "./values.ts";

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

/**
 * A JS function over whole chunks as a DuckDB scalar function: `fn` gets one
 * array per argument (the chunk's rows, read as `readColumns` reads them:
 * numbers unboxed, BIGINT as numbers, timestamps as ISO strings, NULL as
 * null) and returns one value per row (null/undefined: NULL). It is called for
 * NULL arguments too. For functions run over many rows (the ODTs inside the
 * training-data export): no boxed DuckDB value per argument.
 */
export interface ChunkFunctionSignature {
  params: ColumnType[];
  returns: ColumnType;
}

export function chunkFunction(
  name: string,
  signature: ChunkFunctionSignature,
  fn: (args: unknown[][], n: number) => ArrayLike<unknown>,
): DuckDBScalarFunction {
  const returnType = duckType(signature.returns);
  const retId = returnType.typeId;
  const retLength = vectorDim(signature.returns) ?? undefined;
  const paramTypes = signature.params.map(duckType);
  const paramIds = paramTypes.map((t) => t.typeId);
  return DuckDBScalarFunction.create({
    name,
    returnType,
    parameterTypes: paramTypes,
    specialHandling: true,
    mainFunction: (info, input, output) => {
      const n = input.rowCount;
      try {
        const args: unknown[][] = [];
        for (let c = 0; c < paramIds.length; c++) {
          const vec = input.getColumnVector(c);
          const col: unknown[] = new Array(n);
          if (!readNumbers(vec, paramIds[c], n, col, 0, null)) for (let i = 0; i < n; i++) col[i] = readItem(vec, i, paramIds[c], "iso");
          args.push(col);
        }
        const out = fn(args, n);
        if (!writeNumberColumn(output, retId, n, out, `${name}()`)) {
          for (let i = 0; i < n; i++) {
            const v = out[i];
            output.setItem(i, v === undefined || v === null ? null : toDuck(v, retId, `${name}()`, retLength));
          }
        }
        output.flush();
      } catch (e) {
        info.setError(`${name}: ${(e as Error).message ?? String(e)}`);
      }
    },
  });
}

/**
 * A DOUBLE, FLOAT or BIGINT result vector written from `values`: numbers
 * straight into its typed array and their validity bits set (the vector may
 * come with a mask from an earlier chunk), null/undefined as NULL, anything
 * else through `toDuck`. The stored values equal `setItem(toDuck(v))` per row,
 * without a BigInt per validity bit. False, writing nothing, for other types.
 */
function writeNumberColumn(vec: DuckDBVector, typeId: DuckDBTypeId, n: number, values: ArrayLike<unknown>, where: string): boolean {
  if (typeId !== DuckDBTypeId.DOUBLE && typeId !== DuckDBTypeId.FLOAT && typeId !== DuckDBTypeId.BIGINT) return false;
  const v = vec as unknown as { items?: ArrayBufferView & { [i: number]: number }; validity?: { data: BigUint64Array | null; offset: number } };
  const items = v.items;
  if (!items || !v.validity || v.validity.offset !== 0) return false;
  const halves = typeId === DuckDBTypeId.BIGINT ? new Int32Array(items.buffer, items.byteOffset, n * 2) : null;
  const bits = () => (v.validity!.data ? new Uint8Array(v.validity!.data.buffer, v.validity!.data.byteOffset, v.validity!.data.byteLength) : null);
  let mask = bits();
  for (let r = 0; r < n; r++) {
    const x = values[r];
    if (typeof x === "number" && (halves === null || Number.isSafeInteger(x))) {
      if (halves === null) items[r] = x;
      else {
        const hi = Math.floor(x / 4294967296);
        halves[2 * r] = x - hi * 4294967296; // the low 32 bits, as their int32 bit pattern
        halves[2 * r + 1] = hi;
      }
      if (mask !== null) mask[r >> 3] |= 1 << (r & 7);
    } else {
      vec.setItem(r, x === null || x === undefined ? null : toDuck(x, typeId, where));
      if (mask === null) mask = bits(); // a NULL may have created the mask
    }
  }
  return true;
}
