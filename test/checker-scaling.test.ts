// The checker is linear in the spec's size (issue 11 #11), asserted on work
// counts and on inputs that used to be quadratic or to overflow the stack,
// never on time (timings: `npm run bench -- check`, docs/benchmarks.md):
// a "did you mean" compares at most SPELLING_CANDIDATES names, formatting
// thousands of diagnostics splits each source once, a chain of 20,000 feature
// groups declared last-first is ordered without recursion, chains of 5,000
// fns or features that each use the next one declared after them check
// (callees first, compiler/checker/order.ts), and a view listing thousands of
// features one by one is checked.

import { describe, expect, it } from "vitest";
import { checkProgram } from "../compiler/checker/index.ts";
import { formatDiagnostics, SPELLING_CANDIDATES, spellingWork } from "../compiler/diagnostics.ts";
import { parse } from "../compiler/parser/index.ts";

function check(text: string) {
  const parsed = parse(text, "big.fti");
  expect(parsed.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return checkProgram({ program: parsed.program, text, file: "big.fti", specDir: ".", name: "big", specHash: "h" }).ctx.diags.items;
}

/** `n` fns, each calling a misspelt fn (a did-you-mean over every fn) and reading an unknown name. */
function brokenFns(n: number): string {
  return Array.from({ length: n }, (_, i) => `fn fun_${i}(x: float): float = fun_${i}z(x) + undefined_${i}`).join("\n") + "\n";
}

const PREAMBLE = `entity user { key user_id: string }
source s {
  path "data/s.csv"
  event_time ts
  fields {
    user_id: string
    ts: timestamp
    amount: float
  }
}
`;

describe("the checker's work grows linearly with the spec", () => {
  it("a did-you-mean compares at most SPELLING_CANDIDATES names: 4× the fns and errors is 4× the work, not 16×", () => {
    const work = (n: number) => {
      const before = spellingWork.candidates;
      const diags = check(brokenFns(n));
      expect(diags.filter((d) => d.code === 2002)).toHaveLength(2 * n); // unknown fn + unknown name, each fn
      return spellingWork.candidates - before;
    };
    const n = 1_100; // above the cap: every unknown fn has more candidates than a hint looks at
    const once = work(n);
    const four = work(4 * n);
    expect(once).toBeLessThanOrEqual(2 * n * SPELLING_CANDIDATES);
    expect(four).toBeLessThanOrEqual(2 * 4 * n * SPELLING_CANDIDATES);
    expect(four / once).toBeLessThan(4.5);
  });

  it("the hint is still exact among the candidates it compares", () => {
    const diags = check(`fn price(x: float): float = x\nfn total(x: float): float = pirce(x)\n`);
    expect(diags.find((d) => d.code === 2002)?.hint).toBe("did you mean `price`?");
  });

  it("formatting thousands of diagnostics reads and splits each source once", () => {
    const text = brokenFns(3_000);
    const diags = check(text);
    let reads = 0;
    const sources = new (class extends Map<string, string> {
      override get(k: string) {
        reads++;
        return super.get(k);
      }
    })([["big.fti", text]]);
    const out = formatDiagnostics(diags, sources);
    expect(out).toContain("6000 errors");
    expect(reads).toBe(1);
  });

  it("a chain of 20,000 feature groups declared last-first checks (the recursive ordering overflowed the stack)", () => {
    const n = 20_000;
    const groups = Array.from({ length: n }, (_, i) => `feature_group g${i} for user from ${i === n - 1 ? "s" : `g${i + 1}`} { a${i} = ${i === n - 1 ? "amount" : `a${i + 1}`} + 1 }`);
    const diags = check(PREAMBLE + groups.join("\n") + "\n");
    expect(diags.filter((d) => d.severity === "error")).toEqual([]);
  }, 60_000);

  it("a cycle in a long chain of groups is still reported once, naming the cycle", () => {
    const groups = Array.from({ length: 50 }, (_, i) => `feature_group g${i} for user from g${(i + 1) % 50} { a${i} = 1 }`);
    const diags = check(PREAMBLE + groups.join("\n") + "\n");
    const cycles = diags.filter((d) => /cycle/.test(d.message));
    expect(cycles).toHaveLength(1);
    expect(cycles[0].message).toContain("g0 → g1 →");
  });

  it("a chain of 5,000 fns, each calling the next one declared after it, checks (it was a false FTI1007 past ~250)", () => {
    const n = 5_000;
    const fns = Array.from({ length: n }, (_, i) => `fn f${i}(x: float): float = ${i === n - 1 ? "x" : `f${i + 1}(x)`} + 1`);
    const uses = `feature_group g for user from s { y = f0(amount) }\n`;
    const diags = check(PREAMBLE + fns.join("\n") + "\n" + uses);
    expect(diags.filter((d) => d.severity === "error")).toEqual([]);
  }, 60_000);

  it("a chain of 5,000 features of one group, each reading the next one declared after it, checks, dependencies first", () => {
    const n = 5_000;
    const features = Array.from({ length: n }, (_, i) => `  x${i} = ${i === n - 1 ? "amount" : `x${i + 1}`} + 1`);
    const text = PREAMBLE + `feature_group g for user from s {\n${features.join("\n")}\n}\n`;
    const parsed = parse(text, "big.fti");
    const { ctx, ir } = checkProgram({ program: parsed.program, text, file: "big.fti", specDir: ".", name: "big", specHash: "h" });
    expect(ctx.diags.items.filter((d) => d.severity === "error")).toEqual([]);
    const order = ir!.groups[0].features.map((f) => f.name);
    expect(order[0]).toBe(`x${n - 1}`);
    expect(order.at(-1)).toBe("x0");
  }, 60_000);

  it("a cycle at the end of a long chain of fns is reported as before, naming the cycle", () => {
    const n = 2_000;
    const fns = Array.from({ length: n }, (_, i) => `fn f${i}(x: float): float = f${i + 1}(x) + 1`);
    fns.push(`fn f${n}(x: float): float = f${n - 1}(x)`); // f1999 → f2000 → f1999
    const diags = check(PREAMBLE + fns.join("\n") + "\n");
    const cycles = diags.filter((d) => d.code === 2005);
    expect(cycles).toHaveLength(1);
    expect(cycles[0].message).toContain(`f${n - 1} → f${n} → f${n - 1}`);
    expect(diags.filter((d) => d.code === 1007)).toEqual([]); // the chain into the cycle is checked first, without recursion
  }, 60_000);

  it("a cycle of 5,000 fns is one cycle error naming its ends, not a false FTI1007 (it was checked by recursion)", () => {
    const n = 5_000;
    const fns = Array.from({ length: n }, (_, i) => `fn f${i}(x: float): float = f${(i + 1) % n}(x) + 1`);
    const diags = check(PREAMBLE + fns.join("\n") + "\n");
    expect(diags.map((d) => d.code)).toEqual([2005]);
    expect(diags[0].message).toContain(`f0 → f1 → f2 → f3 → f4 → f5 → … ${n + 1 - 12} more … → f${n - 5} → f${n - 4}`);
    expect(diags[0].message.endsWith(`f${n - 1} → f0`)).toBe(true);
  }, 60_000);

  it("a cycle of 5,000 features of one group is one cycle error, and the features reading it stay quiet", () => {
    const n = 5_000;
    const features = Array.from({ length: n }, (_, i) => `  x${i} = x${(i + 1) % n} + 1`);
    const diags = check(PREAMBLE + `feature_group g for user from s {\n${features.join("\n")}\n  y = x7 * 2\n}\n`);
    expect(diags.map((d) => d.code)).toEqual([2005]);
    expect(diags[0].message).toContain("x0 → x1 →");
  }, 60_000);

  it("a view listing 5,000 features one by one, with duplicates, is checked (name lookups are indexed)", () => {
    const n = 5_000;
    const group = `feature_group wide for user from s {\n${Array.from({ length: n }, (_, i) => `  f${i} = amount + ${i}`).join("\n")}\n}\n`;
    const features = Array.from({ length: n }, (_, i) => `  features wide.f${i}`).join("\n");
    const view = `view v for user from s {\n  label y = amount\n${features}\n  features wide.f7\n}\n`;
    const diags = check(PREAMBLE + group + view);
    const errors = diags.filter((d) => d.severity === "error");
    expect(errors).toHaveLength(1); // the duplicate f7
    expect(errors[0].message).toContain("f7");
  }, 60_000);
});
