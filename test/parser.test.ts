import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type {
  AgentDecl,
  Decl,
  EntityDecl,
  Expr,
  ExternFnDecl,
  FeatureGroupDecl,
  FnDecl,
  IndexDecl,
  ModelDecl,
  OnDemandDecl,
  Program,
  Range,
  ServeDecl,
  SourceDecl,
  ViewDecl,
} from "../compiler/ast.ts";
import { parse } from "../compiler/parser/index.ts";

const root = join(import.meta.dirname, "..");
const athlete = readFileSync(join(root, "specs/athlete.fti"), "utf8");

// ---------------------------------------------------------------- helpers

function ok(src: string): Program {
  const { program, diagnostics } = parse(src, "test.fti");
  expect(diagnostics.map((d) => `FTI${d.code} ${d.range.start.line}:${d.range.start.column} ${d.message}`)).toEqual([]);
  return program;
}

function only<K extends Decl["kind"]>(src: string, kind: K): Extract<Decl, { kind: K }> {
  const program = ok(src);
  expect(program.decls).toHaveLength(1);
  expect(program.decls[0].kind).toBe(kind);
  return program.decls[0] as Extract<Decl, { kind: K }>;
}

function expr(src: string): Expr {
  return only(`fn f(): int = ${src}`, "fn").body;
}

/** A compact S-expression for comparing expression shapes. */
function show(e: Expr): string {
  switch (e.kind) {
    case "number":
      return String(e.value);
    case "string":
      return JSON.stringify(e.value);
    case "bool":
      return String(e.value);
    case "null":
      return "null";
    case "duration":
      return `${e.text}=${e.ms}ms`;
    case "date":
      return `@${e.iso}`;
    case "list":
      return `[${e.items.map(show).join(" ")}]`;
    case "name":
      return e.name;
    case "member":
      return `${e.object.name}.${e.property.name}`;
    case "call":
      return `${e.callee.name}(${e.args.map(show).join(", ")})`;
    case "window":
      return `(over ${e.agg.name}(${e.args.map(show).join(", ")}) ${show(e.over)})`;
    case "unary":
      return `(${e.op} ${show(e.operand)})`;
    case "binary":
      return `(${e.op} ${show(e.left)} ${show(e.right)})`;
    case "if":
      return `(if ${show(e.cond)} ${show(e.then)} ${show(e.else)})`;
    case "in":
      return `(in ${show(e.operand)} ${e.values.map(show).join(" ")})`;
    case "error":
      return "<error>";
  }
}

/** The source text a range covers. */
function text(src: string, r: Range): string {
  return src.slice(r.start.offset, r.end.offset);
}

function codes(src: string): number[] {
  return parse(src, "test.fti").diagnostics.map((d) => d.code);
}

// ---------------------------------------------------------------- the real spec

describe("specs/", () => {
  const specs = readdirSync(join(root, "specs")).filter((f) => f.endsWith(".fti"));

  it.each(specs)("%s parses with zero diagnostics", (file) => {
    const { program, diagnostics } = parse(readFileSync(join(root, "specs", file), "utf8"), file);
    expect(diagnostics).toEqual([]);
    expect(program.decls.length).toBeGreaterThan(0);
  });
});

describe("athlete.fti", () => {
  const { program, diagnostics } = parse(athlete, "specs/athlete.fti");

  it("parses with zero diagnostics", () => {
    expect(diagnostics).toEqual([]);
    expect(program.file).toBe("specs/athlete.fti");
  });

  it("has every declaration, in order", () => {
    expect(program.decls.map((d) => `${d.kind} ${d.kind === "serve" ? d.model.name : d.name.name}`)).toEqual([
      "source activities",
      "entity athlete",
      "entity route",
      "source profiles",
      "fn pace_min_km",
      "fn elevation_per_km",
      "fn estimated_tss",
      "extern_fn hr_zone",
      "feature_group activity_stats",
      "feature_group fitness",
      "feature_group route_stats",
      "feature_group profile",
      "on_demand pace_deviation",
      "on_demand expected_time_s",
      "on_demand planned_climb",
      "on_demand planned_distance_km",
      "view time_estimator_data",
      "model time_estimator",
      "serve time_estimator",
      "view route_pace_data",
      "model route_pace",
      "serve route_pace",
      "source coach_notes",
      "feature_group note_texts",
      "index notes",
      "agent coach",
    ]);
  });

  it("gives identifiers exact ranges", () => {
    const entity = program.decls[1] as EntityDecl;
    const line = athlete.split("\n").findIndex((l) => l.startsWith("entity athlete")) + 1;
    expect(entity.name.range.start).toMatchObject({ line, column: 8 });
    expect(entity.name.range.end).toMatchObject({ line, column: 15 });
    expect(text(athlete, entity.name.range)).toBe("athlete");
    expect(text(athlete, entity.range)).toBe("entity athlete {\n  key athlete_id: string\n}");
    const model = program.decls.find((d) => d.kind === "model") as ModelDecl;
    expect(text(athlete, model.algorithm!.range)).toBe("algorithm gbdt(trees: 150, depth: 6, learning_rate: 0.1)");
    expect(text(athlete, model.split!.range)).toBe("split time(test_last: 90d)");
  });

  it("reads the source fields and desugars check (> 0)", () => {
    const src = program.decls[0] as SourceDecl;
    expect(src.fields.map((f) => f.name.name)).toEqual([
      "activity_id",
      "athlete_id",
      "started_at",
      "sport",
      "distance_km",
      "elapsed_time_s",
      "elevation_gain_m",
      "planned_pace_min_km",
      "avg_hr",
      "route_id",
    ]);
    const avgHr = src.fields[8];
    expect(avgHr.type).toMatchObject({ name: "float", nullable: true });
    expect(text(athlete, avgHr.type.range)).toBe("float?");
    const distance = src.fields[4];
    const check = distance.constraints[0];
    expect(check.kind).toBe("check");
    if (check.kind !== "check") throw new Error("unreachable");
    expect(show(check.expr)).toBe("(> distance_km 0)");
    // The desugared field reference takes the operator's range.
    if (check.expr.kind !== "binary") throw new Error("unreachable");
    expect(text(athlete, check.expr.left.range)).toBe(">");
    expect(text(athlete, check.range)).toBe("check (> 0)");
  });
});

// ---------------------------------------------------------------- declarations

describe("source", () => {
  it("reads valid_from and valid_to, which stay names a field may have", () => {
    const src = `source plans {
  path "plans.csv"
  valid_from valid_from
  valid_to ends
  fields { athlete_id: string  valid_from: timestamp  ends: timestamp? }
}`;
    const { program, diagnostics } = parse(src, "t");
    expect(diagnostics).toEqual([]);
    const s = program.decls[0] as Extract<(typeof program.decls)[number], { kind: "source" }>;
    expect([s.eventTime, s.validFrom?.name, s.validTo?.name]).toEqual([undefined, "valid_from", "ends"]);
    expect(s.fields.map((f) => f.name.name)).toEqual(["athlete_id", "valid_from", "ends"]);
    const dup = parse(`source p { valid_to a valid_to b fields { a: timestamp } }`, "t").diagnostics;
    expect(dup.map((d) => d.message)).toEqual(["duplicate `valid_to` in `source p`"]);
  });

  it("reads path, format, event_time, unique and fields in any order", () => {
    const src = `source activities {
  unique activity_id
  fields {
    sport: string in ("run", "trail") check (sport != "x")
    distance_km: float check (> 0) check (distance_km < 1000)
    note: string?
  }
  format parquet
  event_time started_at
  path "data/*.parquet"
}`;
    const s = only(src, "source");
    expect(s.name.name).toBe("activities");
    expect(s.location).toMatchObject({ kind: "path", path: { value: "data/*.parquet" } });
    expect(text(src, s.location!.range)).toBe('path "data/*.parquet"');
    expect(s.format?.name).toBe("parquet");
    expect(s.eventTime?.name).toBe("started_at");
    expect(s.unique?.map((u) => u.name)).toEqual(["activity_id"]);
    expect(s.fields).toHaveLength(3);
    const [sport, distance, note] = s.fields;
    expect(sport.constraints.map((c) => c.kind)).toEqual(["in", "check"]);
    const inC = sport.constraints[0];
    if (inC.kind !== "in") throw new Error("unreachable");
    expect(inC.values.map(show)).toEqual(['"run"', '"trail"']);
    expect(text(src, inC.range)).toBe('in ("run", "trail")');
    expect(distance.constraints.map((c) => (c.kind === "check" ? show(c.expr) : "in"))).toEqual([
      "(> distance_km 0)",
      "(< distance_km 1000)",
    ]);
    expect(note.type).toMatchObject({ name: "string", nullable: true });
    expect(text(src, sport.range)).toBe('sport: string in ("run", "trail") check (sport != "x")');
  });

  it("desugars every comparison shorthand, and keeps the rest of the expression", () => {
    const s = only(`source s { fields { x: float check (>= 0 and x < 10) check (!= 3) check (== 1) check (< 2) check (<= 2) } }`, "source");
    const shown = s.fields[0].constraints.map((c) => (c.kind === "check" ? show(c.expr) : ""));
    expect(shown).toEqual(["(and (>= x 0) (< x 10))", "(!= x 3)", "(== x 1)", "(< x 2)", "(<= x 2)"]);
  });

  it("reads a dotted table name as written", () => {
    const src = `source raw_acts { table raw.activities }`;
    const s = only(src, "source");
    expect(s.location).toMatchObject({ kind: "table", table: "raw.activities" });
    expect(text(src, s.location!.range)).toBe("table raw.activities");
  });

  it("reports a second path/table or a duplicate item", () => {
    expect(codes(`source s { path "a.csv" table raw.a }`)).toEqual([1001]);
    expect(parse(`source s { format csv format parquet }`, "t").diagnostics[0].message).toMatch(/duplicate `format`/);
  });
});

describe("entity", () => {
  it("reads keys on one line or several", () => {
    const e = only(`entity athlete { key athlete_id: string, day: timestamp\n key shoe: int }`, "entity");
    expect(e.keys.map((k) => `${k.name.name}:${k.type.name}`)).toEqual(["athlete_id:string", "day:timestamp", "shoe:int"]);
  });
});

describe("functions", () => {
  it("reads fn", () => {
    const src = `fn pace(d: float, t: float?): float = t / d`;
    const f = only(src, "fn") as FnDecl;
    expect(f.params.map((p) => `${p.name.name}:${p.type.name}${p.type.nullable ? "?" : ""}`)).toEqual(["d:float", "t:float?"]);
    expect(f.returnType.name).toBe("float");
    expect(show(f.body)).toBe("(/ t d)");
    expect(text(src, f.range)).toBe(src);
    expect(text(src, f.params[1].range)).toBe("t: float?");
  });

  it("reads fn without parameters", () => {
    expect(only(`fn one(): int = 1`, "fn").params).toEqual([]);
  });

  it("reads extern fn", () => {
    const src = `extern fn hr_zone(avg_hr: float?, max_hr: float): int from "./athlete.functions.ts"`;
    const f = only(src, "extern_fn") as ExternFnDecl;
    expect(f.name.name).toBe("hr_zone");
    expect(f.params).toHaveLength(2);
    expect(f.returnType.name).toBe("int");
    expect(f.module.value).toBe("./athlete.functions.ts");
    expect(text(src, f.range)).toBe(src);
  });
});

describe("feature_group", () => {
  it("reads version, entity, source and one feature per line", () => {
    const src = `feature_group fitness version 2 for athlete from activity_stats {
  a = x
  b = y - 1
  c = (z)
  d = avg(pace) over 28d
}`;
    const g = only(src, "feature_group") as FeatureGroupDecl;
    expect(g.version).toMatchObject({ value: 2 });
    expect(text(src, g.version!.range)).toBe("2");
    expect(g.entity?.name).toBe("athlete");
    expect(g.from.name).toBe("activity_stats");
    expect(g.features.map((f) => `${f.name.name} = ${show(f.expr)}`)).toEqual([
      "a = x",
      "b = (- y 1)",
      "c = z",
      "d = (over avg(pace) 28d=2419200000ms)",
    ]);
    expect(text(src, g.features[3].range)).toBe("d = avg(pace) over 28d");
  });

  it("leaves version out when not written", () => {
    expect(only(`feature_group g for a from s { }`, "feature_group").version).toBeUndefined();
  });
});

describe("on_demand", () => {
  it("reads request and stored-feature parameters", () => {
    const src = `on_demand dev(request planned: float, fitness.pace_28d): float = (planned - pace_28d) / pace_28d`;
    const o = only(src, "on_demand") as OnDemandDecl;
    expect(o.params).toHaveLength(2);
    expect(o.params[0]).toMatchObject({ kind: "request", name: { name: "planned" }, type: { name: "float" } });
    expect(text(src, o.params[0].range)).toBe("request planned: float");
    expect(o.params[1]).toMatchObject({ kind: "feature", group: { name: "fitness" }, feature: { name: "pace_28d" } });
    expect(text(src, o.params[1].range)).toBe("fitness.pace_28d");
    expect(show(o.body)).toBe("(/ (- planned pace_28d) pace_28d)");
  });
});

describe("view", () => {
  it("reads label, feature refs, ttl and as_of", () => {
    const src = `view training for athlete {
  label finish_time_s = activities.elapsed_time_s
  features fitness.*, activity_stats.climb
  features pace_deviation
  ttl 90d
  as_of inclusive
}`;
    const v = only(src, "view") as ViewDecl;
    expect(v.entity!.name).toBe("athlete");
    expect(v.label).toMatchObject({ name: { name: "finish_time_s" }, expr: { kind: "member", object: { name: "activities" }, property: { name: "elapsed_time_s" } } });
    expect(text(src, v.label!.range)).toBe("label finish_time_s = activities.elapsed_time_s");
    expect(v.features.map((f) => f.kind)).toEqual(["group_all", "group_feature", "name"]);
    expect(text(src, v.features[0].range)).toBe("fitness.*");
    expect(text(src, v.features[1].range)).toBe("activity_stats.climb");
    expect(show(v.ttl!)).toBe("90d=7776000000ms");
    expect(v.asOf?.name).toBe("inclusive");
  });
});

describe("views over a spine source (language v2)", () => {
  it("reads `from SOURCE where`, an expression label, `by`, `by (a, b)` and `as` on each group of a line", () => {
    const src = `view fraud_data from transfers where amount > 0 {
  label flagged = status == "fraud"
  features sent_stats.*, extra.f by sender
  features pair_stats.n by (sender, receiver) as pair_
  features transfer_amount
}`;
    const v = only(src, "view") as ViewDecl;
    expect(v.entity).toBeUndefined();
    expect(v.from!.name).toBe("transfers");
    expect(show(v.where!)).toBe("(> amount 0)");
    expect(show(v.label!.expr)).toBe('(== status "fraud")');
    expect(text(src, v.label!.range)).toBe('label flagged = status == "fraud"');
    const [a, b, c, d] = v.features;
    expect(a.by!.columns.map((x) => x.name)).toEqual(["sender"]);
    expect(b.by!.columns.map((x) => x.name)).toEqual(["sender"]);
    expect(text(src, a.by!.range)).toBe("by sender");
    expect(c.by!.columns.map((x) => x.name)).toEqual(["sender", "receiver"]);
    expect(text(src, c.by!.range)).toBe("by (sender, receiver)");
    expect(c.prefix!.name).toBe("pair_");
    expect(d).toMatchObject({ kind: "name", name: { name: "transfer_amount" } });
    expect(d.by).toBeUndefined();
  });

  it("reads `for ENTITY(col) from SOURCE` and a forward window", () => {
    const src = `view next_week for account(sender) from transfers {
  label km = sum(amount) over next 7d
  features sent_stats.*
}`;
    const v = only(src, "view") as ViewDecl;
    expect(v.entity!.name).toBe("account");
    expect(v.entityColumns!.map((x) => x.name)).toEqual(["sender"]);
    const e = v.label!.expr;
    expect(e.kind).toBe("window");
    expect(e.kind === "window" && e.forward).toBe(true);
    expect(text(src, e.range)).toBe("sum(amount) over next 7d");
  });

  it("`next` is a name anywhere but right after `over`", () => {
    const src = `feature_group g for e from s {
  next = prev + 1
  w = avg(next) over 7d
}`;
    const g = only(src, "feature_group") as FeatureGroupDecl;
    expect(g.features.map((f) => f.name.name)).toEqual(["next", "w"]);
    const w = g.features[1].expr;
    expect(w.kind === "window" && w.forward).toBeFalsy();
  });

  it("reads a group's key columns and `where`", () => {
    const src = `feature_group pair for pair_entity(sender, receiver) from transfers where sport == "run" and amount > 0 {
  n = count() over 1d
}`;
    const g = only(src, "feature_group") as FeatureGroupDecl;
    expect(g.keyColumns!.map((x) => x.name)).toEqual(["sender", "receiver"]);
    expect(show(g.where!)).toBe('(and (== sport "run") (> amount 0))');
  });

  it("a view inside a model body still starts a declaration when it reads `view NAME from`", () => {
    const { program, diagnostics } = parse(`model m {\n  view v\n}\nview v from transfers {\n  label y = amount\n}\n`, "t.fti");
    expect(diagnostics).toEqual([]);
    expect(program.decls.map((d) => d.kind)).toEqual(["model", "view"]);
  });
});

describe("model", () => {
  it("reads every model item", () => {
    const src = `model m {
  view training
  task binary_classification
  algorithm gbdt(trees: 200, 0.1)
  transform a, b: impute(median), standard_scale
  transform c: clip(min: -1, max: 1), bucketize([0, 5, 10])
  split random(test_fraction: 0.2, seed: 7)
  metric auc, logloss
  metric accuracy
  require auc >= 0.7
  require logloss < 0.5
  require accuracy > 0.6
  require logloss <= 1
}`;
    const m = only(src, "model") as ModelDecl;
    expect(m.view?.name).toBe("training");
    expect(m.task?.name).toBe("binary_classification");
    expect(m.algorithm?.name.name).toBe("gbdt");
    expect(m.algorithm?.args.map((a) => `${a.name?.name ?? "_"}=${show(a.value)}`)).toEqual(["trees=200", "_=0.1"]);
    expect(text(src, m.algorithm!.args[0].range)).toBe("trees: 200");
    expect(m.transforms).toHaveLength(2);
    expect(m.transforms[0].features.map((f) => f.name)).toEqual(["a", "b"]);
    expect(m.transforms[0].steps.map((s) => `${s.name.name}(${s.args.map((a) => show(a.value)).join(",")})`)).toEqual([
      "impute(median)",
      "standard_scale()",
    ]);
    expect(m.transforms[1].steps[0].args.map((a) => `${a.name?.name}=${show(a.value)}`)).toEqual(["min=(- 1)", "max=1"]);
    expect(show(m.transforms[1].steps[1].args[0].value)).toBe("[0 5 10]");
    expect(text(src, m.transforms[1].range)).toBe("transform c: clip(min: -1, max: 1), bucketize([0, 5, 10])");
    expect(m.split?.kind.name).toBe("random");
    expect(m.split?.args.map((a) => a.name?.name)).toEqual(["test_fraction", "seed"]);
    expect(m.metrics.map((x) => x.name)).toEqual(["auc", "logloss", "accuracy"]);
    expect(m.requires.map((r) => `${r.metric.name} ${r.op} ${show(r.value)}`)).toEqual([
      "auc >= 0.7",
      "logloss < 0.5",
      "accuracy > 0.6",
      "logloss <= 1",
    ]);
    expect(text(src, m.requires[0].range)).toBe("require auc >= 0.7");
  });

  it("reads an ONNX file algorithm and one without arguments", () => {
    const a = only(`model m { algorithm onnx "models/m.onnx" }`, "model").algorithm!;
    expect(a.name.name).toBe("onnx");
    expect(a.file?.value).toBe("models/m.onnx");
    expect(a.args).toEqual([]);
    const b = only(`model m { algorithm linear split time(test_from: 2025-06-01) }`, "model");
    expect(b.algorithm?.name.name).toBe("linear");
    expect(b.algorithm?.file).toBeUndefined();
    expect(show(b.split!.args[0].value)).toBe("@2025-06-01");
  });

  it("rejects == in require", () => {
    const d = parse(`model m { require mae == 3 }`, "t").diagnostics;
    expect(d.map((x) => x.code)).toEqual([1001]);
    expect(d[0].message).toBe("expected `<`, `<=`, `>` or `>=` but found `==`");
  });
});

describe("index and agent", () => {
  it("reads an index with and without `for`, and every agent item", () => {
    const { program, diagnostics } = parse(
      `index notes on note_texts(embedding) for athlete\nindex all on note_texts(embedding)\n` +
        `agent coach for athlete {\n  llm "coach"\n  context fitness.*, fitness.ctl_42d\n  retrieve notes top 5\n  tool a, b\n  prompt "x {message}" "y"\n}`,
      "t.fti",
    );
    expect(diagnostics).toEqual([]);
    const [ix, all, agent] = program.decls as [IndexDecl, IndexDecl, AgentDecl];
    expect([ix.name.name, ix.group.name, ix.column.name, ix.entity?.name]).toEqual(["notes", "note_texts", "embedding", "athlete"]);
    expect(all.entity).toBeUndefined();
    expect(agent.llm?.value).toBe("coach");
    expect(agent.context.map((c) => c.kind)).toEqual(["group_all", "group_feature"]);
    expect(agent.retrieve.map((r) => [r.index.name, r.k.value])).toEqual([["notes", 5]]);
    expect(agent.tools.map((t) => t.name)).toEqual(["a", "b"]);
    expect(agent.prompt?.text).toBe("x {message}\ny");
  });

  it("reports a misspelled `on` or `top`, and reads float[N] types", () => {
    const { diagnostics } = parse(`index notes at g(e)\nagent a for e { retrieve notes first 3 }`, "t.fti");
    expect(diagnostics.map((d) => d.message)).toEqual([
      "expected `on` after the index name but found `at`",
      "expected `top` after the index name but found `first`",
    ]);
    const fn = parse(`extern fn e(t: string): float[256]? from "./m.ts"`, "t.fti").program.decls[0] as { returnType: { name: string; nullable: boolean; dim?: { value: number } } };
    expect([fn.returnType.name, fn.returnType.nullable, fn.returnType.dim?.value]).toEqual(["float", true, 256]);
  });
});

describe("serve", () => {
  it("reads online and batch into", () => {
    const src = `serve time_estimator {\n  online\n  batch into predictions.time_estimator\n}`;
    const s = only(src, "serve") as ServeDecl;
    expect(s.model.name).toBe("time_estimator");
    expect(text(src, s.online!)).toBe("online");
    expect(s.batch?.table).toBe("predictions.time_estimator");
    expect(text(src, s.batch!.range)).toBe("batch into predictions.time_estimator");
  });
});

// ---------------------------------------------------------------- expressions

describe("expressions", () => {
  it.each([
    ["1 + 2 * 3", "(+ 1 (* 2 3))"],
    ["(1 + 2) * 3", "(* (+ 1 2) 3)"],
    ["1 - 2 - 3", "(- (- 1 2) 3)"],
    ["8 / 4 / 2", "(/ (/ 8 4) 2)"],
    ["7 % 3 * 2", "(* (% 7 3) 2)"],
    ["2 ^ 3 ^ 2", "(^ 2 (^ 3 2))"],
    ["-2 ^ 2", "(- (^ 2 2))"],
    ["2 ^ -1", "(^ 2 (- 1))"],
    ["2 ^ -3 ^ 2", "(^ 2 (- (^ 3 2)))"],
    ["-a * b", "(* (- a) b)"],
    ["a - -b", "(- a (- b))"],
    ["- - a", "(- (- a))"],
    ["a + b < c * d", "(< (+ a b) (* c d))"],
    ["a == b and c != d", "(and (== a b) (!= c d))"],
    ["a or b and c", "(or a (and b c))"],
    ["a and b or c", "(or (and a b) c)"],
    ["not a == b", "(not (== a b))"],
    ["not a and b", "(and (not a) b)"],
    ["not not a", "(not (not a))"],
    ["a <= b or a >= c", "(or (<= a b) (>= a c))"],
    ["x in (1, 2, 3)", "(in x 1 2 3)"],
    ["x + 1 in (2)", "(in (+ x 1) 2)"],
    ["not x in (\"a\")", '(not (in x "a"))'],
    ["x in (1) and y", "(and (in x 1) y)"],
    ["if a > 1 then b else c + 1", "(if (> a 1) b (+ c 1))"],
    ["if a then if b then 1 else 2 else 3", "(if a (if b 1 2) 3)"],
    ["if a then 1 else if b then 2 else 3", "(if a 1 (if b 2 3))"],
    ["1 + (if a then 1 else 2)", "(+ 1 (if a 1 2))"],
    ["f(a, b + 1)", "f(a, (+ b 1))"],
    ["count()", "count()"],
    ["g.feature * 2", "(* g.feature 2)"],
    ["avg(x) over 7d + 1", "(+ (over avg(x) 7d=604800000ms) 1)"],
    ["ewma(tss, 42d)", "ewma(tss, 42d=3628800000ms)"],
    ["sum(x) over (2 * 7d)", "(over sum(x) (* 2 7d=604800000ms))"],
    ["[1, [2, 3], []]", "[1 [2 3] []]"],
    ["true and false or null", "(or (and true false) null)"],
  ])("%s", (src, expected) => {
    expect(show(expr(src))).toBe(expected);
  });

  it("reads number literals", () => {
    expect(expr("42")).toMatchObject({ kind: "number", value: 42, isInt: true });
    expect(expr("3.5")).toMatchObject({ kind: "number", value: 3.5, isInt: false });
    expect(expr("1e-3")).toMatchObject({ kind: "number", value: 0.001, isInt: false });
    expect(expr("2E+2")).toMatchObject({ kind: "number", value: 200, isInt: false });
  });

  it.each([
    ["500ms", 500],
    ["45s", 45_000],
    ["30m", 1_800_000],
    ["12h", 43_200_000],
    ["1.5h", 5_400_000],
    ["7d", 604_800_000],
    ["2w", 1_209_600_000],
  ])("reads duration %s", (src, ms) => {
    expect(expr(src)).toMatchObject({ kind: "duration", ms, text: src });
  });

  it("reads date literals", () => {
    expect(expr("2025-06-01")).toMatchObject({ kind: "date", iso: "2025-06-01" });
    expect(expr("2025-06-01T06:30:00")).toMatchObject({ kind: "date", iso: "2025-06-01T06:30:00" });
    expect(expr("2025-06-01T06:30:00Z")).toMatchObject({ kind: "date", iso: "2025-06-01T06:30:00Z" });
    expect(expr("2024-02-29")).toMatchObject({ kind: "date" });
  });

  it("decodes string escapes", () => {
    expect(expr(String.raw`"a\"b\\c\nd\te\rf\u{e9}\u{1F600}"`)).toMatchObject({
      kind: "string",
      value: 'a"b\\c\nd\te\rf\u00e9\u{1F600}',
    });
    expect(expr('""')).toMatchObject({ kind: "string", value: "" });
  });

  it("gives expressions source ranges, parentheses included", () => {
    const src = "fn f(): int = (a + b) * foo(1, 2) - x.y";
    const body = only(src, "fn").body;
    expect(text(src, body.range)).toBe("(a + b) * foo(1, 2) - x.y");
    if (body.kind !== "binary" || body.left.kind !== "binary") throw new Error("shape");
    expect(text(src, body.left.left.range)).toBe("(a + b)");
    expect(text(src, body.left.right.range)).toBe("foo(1, 2)");
    expect(text(src, body.right.range)).toBe("x.y");
    const neg = only("fn f(): int = -2 ^ 2", "fn").body;
    expect(neg.range.start.column).toBe(15);
    expect(neg.range.end.column).toBe(21);
  });

  it("rejects chained comparisons", () => {
    const d = parse("fn f(): bool = a < b < c", "t").diagnostics;
    expect(d.map((x) => x.code)).toEqual([1001]);
    expect(d[0].message).toMatch(/cannot be chained/);
  });

  it("ignores newlines and comments", () => {
    const f = only("fn f(a: int): int = // c\n a /* b\n */ +\n\n 1", "fn");
    expect(show(f.body)).toBe("(+ a 1)");
  });
});

// ---------------------------------------------------------------- positions

describe("positions", () => {
  it("counts lines the same for LF, CRLF and lone CR", () => {
    for (const nl of ["\n", "\r\n", "\r"]) {
      const src = `// c${nl}${nl}entity  athlete {${nl}  key id: string${nl}}`;
      const e = only(src, "entity");
      expect(e.name.range.start).toMatchObject({ line: 3, column: 9 });
      expect(e.keys[0].name.range.start).toMatchObject({ line: 4, column: 7 });
      expect(text(src, e.keys[0].name.range)).toBe("id");
    }
  });

  it("reports diagnostics at the right place after CRLF", () => {
    const d = parse("entity a {\r\n  key x: string\r\n  @\r\n}", "t").diagnostics;
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({ code: 1004, range: { start: { line: 3, column: 3 }, end: { line: 3, column: 4 } } });
  });
});

// ---------------------------------------------------------------- diagnostics

describe("syntax errors", () => {
  it("recovers: errors in two declarations give two FTI1001 and keep the valid ones", () => {
    const src = `entity athlete { key athlete_id: string }

fn broken(a: float): float = (a + )

fn ok(a: float): float = a * 2

feature_group g for athlete from s {
  x = a +
  y = b
}

view v for athlete { features g.* }`;
    const { program, diagnostics } = parse(src, "t");
    expect(diagnostics.map((d) => [d.code, d.range.start.line])).toEqual([
      [1001, 3],
      [1001, 9],
    ]);
    expect(diagnostics[0].message).toBe("expected an expression after `+` but found `)`");
    expect(diagnostics[1].message).toBe("expected an expression after `+` but found `y`");
    expect(program.decls.map((d) => d.kind)).toEqual(["entity", "fn", "fn", "feature_group", "view"]);
    // The broken parts become error expressions; the rest is kept.
    const broken = program.decls[1] as FnDecl;
    expect(show(broken.body)).toBe("<error>");
    const g = program.decls[3] as FeatureGroupDecl;
    expect(g.features.map((f) => f.name.name)).toEqual(["x", "y"]);
    expect(show(g.features[0].expr)).toMatch(/<error>/);
    expect(show(g.features[1].expr)).toBe("b");
  });

  it("says which block a missing `}` belongs to", () => {
    const src = `source activities {\n  path "a.csv"\n\nentity athlete { key id: string }`;
    const { program, diagnostics } = parse(src, "t");
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0].message).toBe("expected `}` to close `source activities` but found `entity`");
    // Right after the last token of the source: where the `}` is missing.
    expect(diagnostics[0].range.start).toMatchObject({ line: 2, column: 15 });
    expect(program.decls.map((d) => d.kind)).toEqual(["source", "entity"]);
  });

  it("writes short, friendly messages", () => {
    const cases: Array<[string, string]> = [
      [`fn f(a: float, b float): float = a`, "expected `:` but found `float`"],
      [`fn f(): int = f(1, 2`, "expected `,` or `)` but found end of file"],
      [`source s { bogus }`, "expected a source item (path, table, format, event_time, unique, valid_from, valid_to, stream or fields) but found `bogus`"],
      [`entity label { key x: string }`, "expected a name but found the keyword `label`"],
      [`hello world`, "expected a declaration but found `hello`"],
      [`entity a { key x: string } }`, "unexpected `}` after the end of `entity a`"],
    ];
    for (const [src, message] of cases) {
      const d = parse(src, "t").diagnostics;
      expect(d.map((x) => x.code), src).toEqual([1001]);
      expect(d[0].message, src).toBe(message);
    }
  });

  it("suggests the keyword a misspelling was meant to be", () => {
    expect(parse(`sorce a { }`, "t").diagnostics[0].hint).toBe("did you mean `source`?");
    expect(parse(`source a { evnt_time t }`, "t").diagnostics[0].hint).toBe("did you mean `event_time`?");
    expect(parse(`feature_group g for a form s { }`, "t").diagnostics[0].hint).toBe("did you mean `from`?");
  });

  it("never shows chevrotain's token-sequence lists", () => {
    const srcs = [`model m { algorithm }`, `view v for a { features }`, `fn f(): int = `, `source s { fields { x } }`, `serve m { batch }`];
    for (const src of srcs) {
      for (const d of parse(src, "t").diagnostics) {
        expect(d.message).not.toMatch(/one of these possible|-->|<--|Token sequences|EOF/);
        expect(d.message.length).toBeLessThan(160);
      }
    }
  });

  it("reports at most one FTI1001 per declaration", () => {
    const d = parse(`model m { view ) task ( algorithm ] split [ metric , require }`, "t").diagnostics;
    expect(d.map((x) => x.code)).toEqual([1001]);
  });

  it("caps a file at 100 syntax diagnostics", () => {
    const src = Array.from({ length: 300 }, (_, i) => `entity e${i} { key }`).join("\n");
    const d = parse(src, "t").diagnostics;
    expect(d).toHaveLength(100);
  });

  it("does not add an FTI1001 cascade after a lexical error in the same declaration", () => {
    expect(codes(`fn f(): int = 1 @ 2`)).toEqual([1004]);
    expect(codes(`source s { fields { a: string in ("x, "y") } }`)).toEqual([1002]);
  });

  it("FTI1002 unterminated string", () => {
    const d = parse(`source s {\n  path "data.csv\n}`, "t").diagnostics;
    expect(d.map((x) => x.code)).toEqual([1002]);
    expect(d[0].range.start).toMatchObject({ line: 2, column: 8 });
  });

  it("FTI1003 unterminated block comment", () => {
    expect(codes(`entity a { key x: string }\n/* never closed\nentity b { }`)).toEqual([1003]);
  });

  it("FTI1004 invalid characters, one per run", () => {
    const d = parse(`entity a { key x: string } @$ \u0000\u0001 caf\u00e9 \u201cx\u201d`, "t").diagnostics;
    expect(d.map((x) => x.code)).toEqual([1004, 1004, 1004, 1004, 1004]);
    expect(d[0].message).toBe("invalid characters `@$`");
    expect(d[0].range.end.offset - d[0].range.start.offset).toBe(2);
  });

  it("a string cannot hold NUL or a lone surrogate: NUL would end the SQL text it is written into", () => {
    const text = String.raw`source s { path "a\u{0}b\u{d800}c\u{DFFF}\u{10FFFF}" }` + '\nfn f(): string = "x\u0000y"';
    const d = parse(text, "t").diagnostics;
    expect(d.map((x) => [x.code, x.message.split("\n")[0], x.range.start.line, x.range.start.column])).toEqual([
      [1005, "invalid escape sequence `\\u{0}`: not a character a string can hold", 1, 19],
      [1005, "invalid escape sequence `\\u{d800}`: not a character a string can hold", 1, 25],
      [1005, "invalid escape sequence `\\u{DFFF}`: not a character a string can hold", 1, 34],
      [1004, "invalid character U+0000", 2, 20],
    ]);
  });

  it("FTI4105: a bidirectional control written as it is in a string or a comment, each one; as an escape it is a character like any other", () => {
    const text = 'source s { path "a\u202eb" } // x \u2066 y \u2069\n/* \u202a */ fn f(): string = "\\u{202e}"';
    const d = parse(text, "t").diagnostics;
    expect(d.map((x) => [x.code, x.range.start.line, x.range.start.column, x.range.end.offset - x.range.start.offset])).toEqual([
      [4105, 1, 19, 1],
      [4105, 1, 30, 1],
      [4105, 1, 34, 1],
      [4105, 2, 4, 1],
    ]);
    expect(d[0].message).toMatch(/^a string holds RIGHT-TO-LEFT OVERRIDE \(U\+202E\) as it is/);
    expect(d[1].message).toMatch(/^a comment holds LEFT-TO-RIGHT ISOLATE \(U\+2066\)/);
    expect(parse('fn f(): string = "\\u{202e}\\u{2066}"', "t").diagnostics).toEqual([]);
  });

  it("FTI1005 invalid escape", () => {
    const d = parse(String.raw`source s { path "a\qb\u{110000}" }`, "t").diagnostics;
    expect(d.map((x) => x.code)).toEqual([1005, 1005]);
    expect(d[0].message).toBe("invalid escape sequence `\\q`");
  });

  it.each([
    ["2025-13-45", /month must be 01 to 12/],
    ["2025-02-30", /day must be 01 to 28/],
    ["2025-06-01T25:00", /hour/],
    ["2025-6-1", /invalid date/],
    ["7y", /unknown duration unit `y`/],
    ["1e", /exponent has no digits/],
    ["1.2.3", /invalid number/],
    // Past 2^53 - 1 an int would differ between SQL (BIGINT) and TypeScript (a double).
    ["9007199254740992", /integer `9007199254740992` is too large: ints are exact up to 9007199254740991/],
    ["9223372036854775808", /integer `9223372036854775808` is too large/],
    ["1e999", /number `1e999` is too large/],
    // Past 2^53 - 1 ms a duration's microseconds no longer fit a BIGINT.
    ["104249992d", /duration `104249992d` is too large/],
    ["99999999999999999999d", /duration .* is too large/],
  ])("FTI1006 invalid literal %s", (lit, message) => {
    const d = parse(`fn f(): int = ${lit}`, "t");
    expect(d.diagnostics.map((x) => x.code)).toEqual([1006]);
    expect(d.diagnostics[0].message).toMatch(message);
    expect(show((d.program.decls[0] as FnDecl).body)).toBe("<error>");
  });

  it("the largest exact int and the longest duration are literals", () => {
    const d = parse("fn f(): int = 9007199254740991 + 104249991d", "t");
    expect(d.diagnostics).toEqual([]);
    expect(show((d.program.decls[0] as FnDecl).body)).toBe("(+ 9007199254740991 104249991d=9007199222400000ms)");
  });

  it("FTI1007 nesting too deep: reported once, the declaration skipped, the rest parsed", () => {
    const deep = "(".repeat(10_000) + "1" + ")".repeat(10_000);
    const { program, diagnostics } = parse(`fn f(): int = ${deep}\nentity a { key x: string }`, "t");
    expect(diagnostics.map((x) => x.code)).toEqual([1007]);
    expect(program.decls.map((d) => d.kind)).toEqual(["entity"]);
    // 128 levels are fine.
    expect(codes(`fn f(): int = ${"(".repeat(128)}1${")".repeat(128)}`)).toEqual([]);
    expect(codes(`fn f(): int = ${"(".repeat(129)}1${")".repeat(129)}`)).toEqual([1007]);
    expect(codes(`fn f(): int = ${"if a then ".repeat(200)}1${" else 2".repeat(200)}`)).toEqual([1007]);
    expect(codes(`fn f(): int = ${"if a then 1 else ".repeat(200)}2`)).toEqual([1007]);
  });

  it("FTI1008 empty file is a warning", () => {
    for (const src of ["", "   \n\r\n", "// just a comment\n/* and another */"]) {
      const d = parse(src, "t").diagnostics;
      expect(d.map((x) => [x.code, x.severity])).toEqual([[1008, "warning"]]);
    }
  });

  it("a file whose declarations a syntax error swallowed is not called empty (docs/language.md FTI1003's example)", () => {
    expect(codes("/* TODO: add the sources\nentity shoe { key shoe_id: string }\n")).toEqual([1003]);
    expect(codes("'")).toEqual([1004]);
  });
});

describe("fixtures", () => {
  const dir = join(root, "test/fixtures/diagnostics");
  const files = readdirSync(dir).filter((f) => /^FTI100\d-.*\.fti$/.test(f));

  it("has a fixture for every syntax code", () => {
    expect([...new Set(files.map((f) => f.slice(0, 7)))].sort()).toEqual([
      "FTI1001",
      "FTI1002",
      "FTI1003",
      "FTI1004",
      "FTI1005",
      "FTI1006",
      "FTI1007",
      "FTI1008",
    ]);
  });

  it.each(files)("%s triggers exactly its code", (file) => {
    const code = Number(file.slice(3, 7));
    const d = parse(readFileSync(join(dir, file), "utf8"), file).diagnostics;
    expect([...new Set(d.map((x) => x.code))]).toEqual([code]);
  });
});

describe("performance", () => {
  it("parses a 2,000-line spec in well under 200 ms", () => {
    const parts: string[] = [];
    let lines = 0;
    for (let i = 0; lines < 2000; i++) {
      const copy = athlete.replace(/\b(activities|athlete|fitness|activity_stats|time_estimator)\b/g, `$1_${i}`);
      parts.push(copy);
      lines += copy.split("\n").length;
    }
    const big = parts.join("\n");
    parse(athlete, "warm-up.fti");
    // CPU time of this process, best of 5: wall time is at the mercy of
    // whatever else the machine runs at the same moment.
    let best = Infinity;
    let result = parse(big, "big.fti");
    for (let i = 0; i < 5; i++) {
      const before = process.cpuUsage();
      result = parse(big, "big.fti");
      const used = process.cpuUsage(before);
      best = Math.min(best, (used.user + used.system) / 1000);
    }
    expect(result.diagnostics).toEqual([]);
    expect(result.program.decls.length).toBeGreaterThan(250);
    expect(best).toBeLessThan(200);
  });
});
