// compiler/checker/order.ts: the order fns and features are checked in
// (dependencies first, iteratively), and the order references are met in.

import { describe, expect, it } from "vitest";
import { dependencyOrder, forEachReference } from "../compiler/checker/order.ts";
import { parse } from "../compiler/parser/index.ts";

const graph = (edges: Record<string, string[]>) => (name: string) => edges[name] ?? [];

describe("dependencyOrder", () => {
  it("keeps the declaration order when nothing refers to anything declared", () => {
    expect(dependencyOrder(["c", "a", "b"], graph({ a: ["x", "y"] }))).toEqual(["c", "a", "b"]);
  });

  it("puts each name after the names it refers to, in the order they are met (a depth-first postorder)", () => {
    expect(dependencyOrder(["a", "b", "c", "d"], graph({ a: ["c", "b"], b: ["d"], c: ["d"] }))).toEqual(["d", "c", "b", "a"]);
  });

  it("orders a chain of 50,000 declared last-first without recursion", () => {
    const n = 50_000;
    const names = Array.from({ length: n }, (_, i) => `f${i}`);
    const order = dependencyOrder(names, (name) => {
      const i = Number(name.slice(1));
      return i + 1 < n ? [`f${i + 1}`] : [];
    });
    expect(order[0]).toBe(`f${n - 1}`);
    expect(order[n - 1]).toBe("f0");
  });

  it("gives a cycle as the member met first, after what the cycle refers to and before what refers to it", () => {
    // a → b → c → b (cycle b, c), c → d
    expect(dependencyOrder(["a", "c", "b", "d"], graph({ a: ["b"], b: ["c"], c: ["b", "d"] }))).toEqual(["d", "b", "c", "a"]);
    expect(dependencyOrder(["s"], graph({ s: ["s"] }))).toEqual(["s"]);
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
