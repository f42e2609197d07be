// The parser's fast path (compiler/parser/direct.ts) must be invisible: for
// any text, `parse` with it gives exactly what the chevrotain path alone
// gives (same AST, same key order, same diagnostics). And it must actually
// take the declarations it is meant for, or it would be dead weight.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bigSpec } from "../bench/suites/compile.ts";
import { parse } from "../compiler/parser/index.ts";
import { readDirect } from "../compiler/parser/direct.ts";
import { lex } from "../compiler/parser/lexer.ts";
import { LineMap } from "../compiler/parser/index.ts";
import { mulberry32 as rng } from "../runtime/random.ts";
import { mutate, randomBytes, tokenSoup } from "./helpers/spec-fuzz.ts";

const ROOT = join(import.meta.dirname, "..");

function ftiFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith(".fti")) out.push(join(e.parentPath, e.name));
  }
  return out.sort();
}

const specs = ftiFiles(join(ROOT, "specs")).map((f) => readFileSync(f, "utf8"));
const fixtures = ftiFiles(join(ROOT, "test", "fixtures")).map((f) => [f, readFileSync(f, "utf8")] as const);

/** Both paths on `text`; returns whether the result had diagnostics. */
function expectSame(text: string, what: string): boolean {
  const fast = JSON.stringify(parse(text, "x.fti"));
  const slow = JSON.stringify(parse(text, "x.fti", { direct: false }));
  if (fast !== slow) expect(fast, `${what}: ${JSON.stringify(text.slice(0, 300))}`).toBe(slow);
  return slow.includes('"code":');
}

describe("the parser's fast path gives what chevrotain gives", () => {
  it("on the specs, a large generated spec and every fixture (valid and broken)", () => {
    for (const [i, text] of specs.entries()) expectSame(text, `spec ${i}`);
    expectSame(bigSpec(3_000), "bigSpec");
    let broken = 0;
    for (const [file, text] of fixtures) if (expectSame(text, file)) broken++;
    expect(broken).toBeGreaterThan(5); // the FTI1xxx fixtures: syntax errors of every kind
  });

  it("on random edits of every spec", () => {
    const r = rng(11);
    let withErrors = 0;
    for (let i = 0; i < 250; i++) {
      if (expectSame(mutate(r, specs[i % specs.length]), `mutation ${i}`)) withErrors++;
    }
    expect(withErrors).toBeGreaterThan(60);
  });

  it("on random token soup and random characters", () => {
    const r = rng(12);
    for (let i = 0; i < 400; i++) expectSame(tokenSoup(r, 60), `soup ${i}`);
    for (let i = 0; i < 200; i++) expectSame(randomBytes(r, 200), `bytes ${i}`);
  });

  it("on the corners of each construct it reads", () => {
    const cases = [
      "fn f(): float = -(- 1) ^ 2 ^ 3 * 4 % 5 / 6 + 7 - 8",
      "fn f(x: float?, y: float[3]?, z: string[2]): bool = x in (1, 2) and not y == null or z != [1, 2,]",
      "fn f(x: float): float = if x > 0 then if x > 1 then 2 else 1 else 0",
      "fn f(x: float): bool = 1 < x < 2",
      "fn f(x: float): float = a.b + g(x, y)(z)",
      "fn f(x: float): float = sum(x) over 7d + avg(x) over next 7d + last(x) over next",
      "fn f(x: float): float = sum(x) over (next)",
      "fn f(x: float): float = g(x) over",
      "fn f(x: float): float = x = 1",
      "fn f(x: float): float = 2025-13-01",
      "entity e { key a: string, b: int key c: date }",
      "entity e { }",
      "source s { path \"a.csv\" table a.b }",
      "source s { table a.b.c format csv event_time t unique id valid_from f valid_to t2 stream lateness 2h fields { a: int in (1, 2) check (> 0) check (a < 3) b: string? } }",
      "source s { stream fields { stream: int } }",
      "source s { stream stream }",
      "source s { format csv format json }",
      "source s { valid_from }",
      "feature_group g version 2 for e(a, b) from s where a > 0 { x = a y = -x z = x in (1) }",
      "feature_group g version 2.5 for e from s { }",
      "feature_group g for e from s schedule every 6h { x = a }",
      "feature_group g for e from s { x = a y }",
      "on_demand o(request a: float, g.f, request b: int[2]): float = a + f",
      "on_demand o(): float = 1",
      "on_demand o(g.): float = 1",
      "view v for e(a, b) from s where x > 0 { label y = s.a features g.*, g.f, o by (a, b) as p_ features h.* by c ttl 60d as_of strict }",
      "view v for e { features g.* label y = 1 label z = 2 }",
      "view v { features g. }",
      "view v from s { features g.* by () }",
      "model m { view v task regression algorithm gbdt(trees: 50, 0.1) transform a, b: impute(median), standard_scale split random(test_fraction: 0.2) metric mae, rmse require mae < 5 require r2 >= 0.5 }",
      "model m { algorithm onnx \"m.onnx\" split time }",
      "model m { algorithm gbdt() transform a: standard_scale(x: -1,) }",
      "model m { view v view w }",
      "model m { require mae == 5 }",
      "model m { retrain { schedule \"0 3 * * *\" } }",
      "model m { retrain { schedule every 6h when drift(psi > 0.25) when live(mae <= 7 * 100) promote if better(mae) } metric mae }",
      "model m { retrain { promote if better(mae) schedule \"0 3 * * 1\" } retrain { } }",
      "model m { retrain { schedule \"a\" schedule \"b\" } }",
      "model m { retrain { promote if better(mae) promote if better(rmse) } }",
      "model m { retrain { when if better(mae) } }",
      "model m { retrain { promote drift(psi > 1) } }",
      "model m { retrain { when drift(psi == 1) } }",
      "model m { retrain { when drift(psi > ) } }",
      "model m { retrain { schedule hourly 6h } }",
      "model m { retrain { schedule } }",
      "model m { retrain { } }",
      "feature_group g for e from s where a > 0 schedule \"0 2 * * *\" { x = a }",
      "feature_group g for e from s schedule every { x = a }",
      "feature_group g for e from s schedule each 6h { x = a }",
      "extern fn f(x: float, y: string?): float[3]? from \"./f.ts\"",
      "extern fn f(): int from g",
      "import { a, b } from \"./a.fti\" import { c } from \"./c.fti\"",
      "import { } from \"./a.fti\"",
      "import { a b } from \"./a.fti\"",
      "index i on g(c) for e",
      "index i on g(c)",
      "index i at g(c)",
      "index i on g(c) for",
      "agent a for e { llm \"m\" context g.*, g.f, o retrieve i top 5 retrieve j top 2 tool m, n prompt \"x {f}\" \"y\" }",
      "agent a for e { prompt \"x\" llm \"m\" tool m tool n context g.f }",
      "agent a for e { }",
      "agent a for e { llm \"m\" llm \"n\" }",
      "agent a for e { prompt \"a\" prompt \"b\" }",
      "agent a for e { retrieve i top 2.5 }",
      "agent a for e { retrieve i first 2 }",
      "agent a for e { context g. }",
      "agent a for e { tool }",
      "serve m { online batch into a.b.c }",
      "serve m { online online }",
      "serve m { batch a.b }",
    ];
    for (const c of cases) expectSame(c, c);
  });
});

describe("the fast path takes what it is meant for", () => {
  const read = (text: string) => {
    const lines = new LineMap(text);
    return readDirect(lex(text).tokens, { pos: (o) => lines.pos(o), error: () => undefined });
  };

  it("reads valid sources, entities, fns, feature groups, on-demand transforms, views, models and serves", () => {
    expect(read("source s { path \"a.csv\" event_time t fields { a: int check (> 0) } }")?.kind).toBe("source");
    expect(read("entity e { key a: string }")?.kind).toBe("entity");
    expect(read("fn f(x: float): float = if x > 0 then x else -x")?.kind).toBe("fn");
    expect(read("feature_group g for e from s { x = sum(a) over 7d }")?.kind).toBe("feature_group");
    expect(read("on_demand o(request a: float, g.f): float = a * f")?.kind).toBe("on_demand");
    expect(read("view v for e { label y = s.a features g.* ttl 60d as_of strict }")?.kind).toBe("view");
    expect(read("model m { view v task regression algorithm gbdt(trees: 50) metric mae }")?.kind).toBe("model");
    expect(read("model m { retrain { schedule \"0 3 * * 1\" when drift(psi > 0.25) promote if better(mae) } }")?.kind).toBe("model");
    expect(read("feature_group g for e from s schedule every 6h { x = a }")?.kind).toBe("feature_group");
    expect(read("extern fn f(x: float): float from \"./f.ts\"")?.kind).toBe("extern_fn");
    expect(read("index i on g(c) for e")?.kind).toBe("index");
    expect(read("import { a, b } from \"./a.fti\"")?.kind).toBe("import");
    expect(read("agent a for e { llm \"m\" context g.* retrieve i top 5 tool m prompt \"x\" \"y\" }")?.kind).toBe("agent");
    expect(read("serve m { online batch into a.b }")?.kind).toBe("serve");
  });

  it("leaves everything else to chevrotain", () => {
    for (const text of [
      "fn f(x: float): float = x +", // a syntax error
      "source s { format csv format json }", // a duplicate clause (FTI1001 from the AST pass)
      "feature_group g version 1.5 for e from s { }", // not a whole version
      "fn f(x: float): bool = 1 < x < 2", // chained comparison
      "model m { retrain { schedule \"a\" schedule \"b\" } }", // a repeated retrain item (FTI1001 from the AST pass)
      "model m { retrain { promote drift(psi > 1) } }", // the wrong word at a retrain item's head
      "feature_group g for e from s schedule each 6h { }", // not `every`
      "import { a, } from \"./a.fti\"", // a trailing comma
      "agent a for e { llm \"m\" llm \"n\" }", // a repeated agent item
      "index i at g(c)", // not `on`
      "fn f(x: float): float = x fn g(): int = 1", // more than one declaration
    ]) {
      expect(read(text), text).toBeUndefined();
    }
  });
});
