// compiler/checker/order.ts: the order fns and features are checked in
// (dependencies first, iteratively), and the order references are met in.

import { describe, expect, it } from "vitest";
import { checkOrder, forEachReference } from "../compiler/checker/order.ts";
import { parse } from "../compiler/parser/index.ts";

const graph = (edges: Record<string, string[]>) => (name: string) => edges[name] ?? [];

describe("checkOrder", () => {
  it("keeps the declaration order when nothing refers to anything declared", () => {
    expect(checkOrder(["c", "a", "b"], graph({ a: ["x", "y"] }))).toEqual({ order: ["c", "a", "b"], cycles: [] });
  });

  it("puts each name after the names it refers to, in the order they are met (a depth-first postorder)", () => {
    expect(checkOrder(["a", "b", "c", "d"], graph({ a: ["c", "b"], b: ["d"], c: ["d"] })).order).toEqual(["d", "c", "b", "a"]);
  });

  it("orders a chain of 50,000 declared last-first without recursion", () => {
    const n = 50_000;
    const names = Array.from({ length: n }, (_, i) => `f${i}`);
    const { order } = checkOrder(names, (name) => {
      const i = Number(name.slice(1));
      return i + 1 < n ? [`f${i + 1}`] : [];
    });
    expect(order[0]).toBe(`f${n - 1}`);
    expect(order[n - 1]).toBe("f0");
  });

  it("gives each cycle as first use meets it, from the name referred back to", () => {
    // a → b → c → b (cycle b, c), c → d
    expect(checkOrder(["a", "c", "b", "d"], graph({ a: ["b"], b: ["c"], c: ["b", "d"] }))).toEqual({
      order: ["d", "c", "b", "a"],
      cycles: [["b", "c", "b"]],
    });
    expect(checkOrder(["s"], graph({ s: ["s"] }))).toEqual({ order: ["s"], cycles: [["s", "s"]] });
  });

  it("reports a name once: a later reference back to it closes no second cycle", () => {
    // a → b → a, b → c → a: after the first cycle a has failed, c's reference to a stays quiet
    expect(checkOrder(["a", "b", "c"], graph({ a: ["b"], b: ["a", "c"], c: ["a", "b"] }))).toEqual({
      order: ["c", "b", "a"],
      cycles: [["a", "b", "a"], ["b", "c", "b"]],
    });
  });

  it("walks a cycle of 50,000 names without recursion and names it whole", () => {
    const n = 50_000;
    const names = Array.from({ length: n }, (_, i) => `f${i}`);
    const { order, cycles } = checkOrder(names, (name) => [`f${(Number(name.slice(1)) + 1) % n}`]);
    expect(order).toHaveLength(n);
    expect(cycles).toHaveLength(1);
    expect(cycles[0]).toHaveLength(n + 1);
    expect([cycles[0][0], cycles[0][n]]).toEqual(["f0", "f0"]);
  });
});

describe("forEachReference", () => {
  it("meets names and callees as the checker does: operands left to right, a call's arguments before the call", () => {
    const program = parse("fn f(x: float): float = if a then g(b, h(c)) + d else -e in (k, m)", "x.fti").program;
    const body = (program.decls[0] as { body: Parameters<typeof forEachReference>[0] }).body;
    const met: string[] = [];
    forEachReference(body, (n) => met.push(n), (n) => met.push(`${n}()`));
    expect(met).toEqual(["a", "b", "c", "h()", "g()", "d", "e", "k", "m"]);
  });
});
