// The one walk over IR expressions: every kind's sub-expressions are visited,
// and depth is not bounded by the call stack.

import { describe, expect, it } from "vitest";
import type { IrExpr, IrFunction, IrType } from "../compiler/ir.ts";
import { calledFns, columnsOf, fnsCalledFrom, hasCall, paramUses } from "../compiler/ir-walk.ts";

const F: IrType = { base: "float", nullable: true };
const B: IrType = { base: "bool", nullable: true };
const col = (name: string): IrExpr => ({ k: "col", name, type: F });
const param = (name: string): IrExpr => ({ k: "param", name, type: F });
const call = (fn: string, ...args: IrExpr[]): IrExpr => ({ k: "call", fn, args, type: F });

describe("IR expression walks", () => {
  const e: IrExpr = {
    k: "if",
    cond: { k: "in", arg: col("a"), values: [col("b"), { k: "lit", type: F, value: 1 }], type: B },
    then: { k: "binary", op: "+", left: call("f", param("x"), col("c")), right: { k: "unary", op: "neg", arg: param("x"), type: F }, type: F },
    else: { k: "builtin", name: "abs", args: [call("g", col("d"))], type: F },
    type: F,
  };

  it("reach into every kind of expression", () => {
    expect([...columnsOf(e)].sort()).toEqual(["a", "b", "c", "d"]);
    expect(paramUses(e)).toEqual(new Map([["x", 2]]));
    expect(calledFns(e)).toEqual(["f", "g"]);
    expect(hasCall(e)).toBe(true);
    expect(hasCall(col("a"))).toBe(false);
  });

  it("follow fn bodies to the fns they call, once each, and stop at extern fns", () => {
    const fn = (name: string, body?: IrExpr): IrFunction => ({ name, params: [], returns: F, body, loc: { file: "s.fti", line: 1, col: 1 } }) as unknown as IrFunction;
    const functions = [fn("f", call("h", param("p"))), fn("g"), fn("h", call("f")), fn("unused", call("g"))];
    expect([...fnsCalledFrom([e], functions)].sort()).toEqual(["f", "g", "h"]);
  });

  it("walk an expression 100,000 deep without overflowing the stack", () => {
    let deep: IrExpr = col("leaf");
    for (let i = 0; i < 100_000; i++) deep = { k: "unary", op: "neg", arg: deep, type: F };
    expect([...columnsOf(deep)]).toEqual(["leaf"]);
  });
});
