// A request's params as the client sent them. vscode-languageserver hands them
// to the handlers unchecked, so `position: null` or `textDocument: {}` threw a
// TypeError deep in a provider: -32603 ("internal error") for what is the
// client's mistake. Each handler names the fields it reads; a field of the
// wrong shape is -32602 naming it.

import { ErrorCodes, ResponseError } from "vscode-languageserver/node";

export type ParamField = "textDocument" | "position" | "context" | "newName" | "query" | "range";

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isCount = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
const isPosition = (v: unknown) => isObject(v) && isCount(v.line) && isCount(v.character);

const CHECKS: Record<ParamField, { field: string; expected: string; ok: (params: Record<string, unknown>) => boolean }> = {
  textDocument: { field: "textDocument.uri", expected: "a string", ok: (p) => isObject(p.textDocument) && typeof p.textDocument.uri === "string" },
  position: { field: "position", expected: "{ line, character }, whole numbers ≥ 0", ok: (p) => isPosition(p.position) },
  context: { field: "context", expected: "an object", ok: (p) => isObject(p.context) },
  newName: { field: "newName", expected: "a string", ok: (p) => typeof p.newName === "string" },
  query: { field: "query", expected: "a string", ok: (p) => typeof p.query === "string" },
  range: { field: "range", expected: "{ start, end } positions", ok: (p) => isObject(p.range) && isPosition(p.range.start) && isPosition(p.range.end) },
};

/** `handler`, called only with params whose `fields` have the protocol's shape. */
export function checked<P, R, A extends unknown[]>(fields: ParamField[], handler: (params: P, ...rest: A) => R): (params: P, ...rest: A) => R {
  return (params, ...rest) => {
    if (!isObject(params)) throw new ResponseError(ErrorCodes.InvalidParams, "params: expected an object");
    for (const name of fields) {
      const check = CHECKS[name];
      if (!check.ok(params)) throw new ResponseError(ErrorCodes.InvalidParams, `${check.field}: expected ${check.expected}`);
    }
    return handler(params, ...rest);
  };
}
