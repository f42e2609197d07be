// The language server through the protocol, as an editor drives it: a real
// `fti lsp --stdio` process and an LSP client over its stdin/stdout.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CodeActionRequest,
  CompletionRequest,
  DefinitionRequest,
  DidChangeWatchedFilesNotification,
  FileChangeType,
  DocumentFormattingRequest,
  DocumentSymbolRequest,
  FoldingRangeRequest,
  HoverRequest,
  PrepareRenameRequest,
  ReferencesRequest,
  RenameRequest,
  SemanticTokensRequest,
  type CompletionItem,
  type Diagnostic,
  type Hover,
  type Position,
  type TextEdit,
} from "vscode-languageserver-protocol/node";
import { startLsp, type LspClient } from "./helpers/lsp-client.ts";
import { applyEdits, pos } from "./helpers/lsp-text.ts";

const ATHLETE = fs.readFileSync("specs/athlete.fti", "utf8");
const uri = pathToFileURL(path.resolve("specs/athlete.fti")).href; // next to athlete.functions.ts (its extern fn)
const doc = { uri };

const codes = (ds: Diagnostic[]) => ds.map((d) => d.code).sort();
const labels = (items: CompletionItem[] | null | unknown) => (items as CompletionItem[]).map((i) => i.label);
const hoverText = (h: Hover | null) => (h && typeof h.contents === "object" && "value" in h.contents ? h.contents.value : "");

let lsp: LspClient;
let version = 1;

/** Replaces the open document's text; returns its diagnostics. */
async function edit(text: string): Promise<Diagnostic[]> {
  version++;
  return (await lsp.change(uri, version, text)).diagnostics;
}

beforeAll(async () => {
  lsp = await startLsp();
  const first = await lsp.open(uri, ATHLETE);
  expect(first.diagnostics).toEqual([]);
}, 60_000);

afterAll(async () => {
  await lsp?.stop();
});

describe("fti lsp: diagnostics as you type", () => {
  it("announces its capabilities", () => {
    const caps = lsp.init.capabilities;
    expect(caps.hoverProvider).toBe(true);
    expect(caps.completionProvider?.triggerCharacters).toContain(".");
    expect(caps.renameProvider).toEqual({ prepareProvider: true });
    expect(caps.semanticTokensProvider?.legend.tokenTypes).toContain("keyword");
    expect(caps.documentFormattingProvider).toBe(true);
  });

  it("reports every error with its code, range and hint; a syntax error does not hide the others", async () => {
    const broken = ATHLETE.replace("avg(pace) over 28d", "avg(paec) over 28d").replace("ttl 90d", "ttl 90d )").replace("transform pace_sd_28d: impute(median)", "transform pace_sd_28d: impute(medain)");
    const ds = await edit(broken);
    expect(codes(ds)).toEqual(["FTI1001", "FTI2002", "FTI4006"]);
    const typo = ds.find((d) => d.code === "FTI2002")!;
    expect(typo.range).toEqual({ start: pos(broken, "paec"), end: pos(broken, "paec", 4) });
    expect(typo.message).toContain("unknown name `paec`");
    expect(typo.message).toContain("hint: did you mean `pace`?");
    expect(typo.severity).toBe(1);
    expect(typo.source).toBe("fti");
    const syntax = ds.find((d) => d.code === "FTI1001")!;
    expect(syntax.range.start).toEqual(pos(broken, "90d )", 4));
    expect(await edit(ATHLETE)).toEqual([]);
  });

  it("survives garbage and an empty document", async () => {
    const garbage = await edit("}}}{{ model ( fn = = \u0000 \"unterminated\n/* open");
    expect(garbage.length).toBeGreaterThan(0);
    expect(garbage.every((d) => typeof d.code === "string" && /^FTI\d{4}$/.test(d.code as string))).toBe(true);
    expect(codes(await edit(""))).toEqual(["FTI1008"]);
    expect(await edit(ATHLETE)).toEqual([]);
  });
});

describe("fti lsp: hover", () => {
  const hoverAt = (p: Position) => lsp.conn.sendRequest(HoverRequest.type, { textDocument: doc, position: p });

  it("a windowed feature: type and nullability, MIT, window semantics, lineage", async () => {
    const text = hoverText(await hoverAt(pos(ATHLETE, "(planned_pace_min_km - pace_28d)", 25)));
    expect(text).toContain("feature fitness.pace_28d: float?");
    expect(text).toContain("**MIT**");
    expect(text).toContain("(t − 28d, t]");
    expect(text).toContain("Lineage: `activities.distance_km`, `activities.elapsed_time_s`");
  });

  it("a feature's doc comment, an MDT, an ODT, a field and a built-in", async () => {
    const ctl = hoverText(await hoverAt(pos(ATHLETE, "ctl_42d = ewma", 1)));
    expect(ctl).toContain("chronic training load (fitness)");
    expect(ctl).toContain("exponentially weighted mean");
    expect(ctl).toContain("MDTs: `time_estimator`: standard_scale");
    const odt = hoverText(await hoverAt(pos(ATHLETE, "on_demand pace_deviation", 12)));
    expect(odt).toContain("**ODT**");
    expect(odt).toContain("on_demand pace_deviation: float?");
    const field = hoverText(await hoverAt(pos(ATHLETE, "avg_hr: float?", 1)));
    expect(field).toContain("field activities.avg_hr: float?");
    expect(field).toContain("missing when no strap was worn");
    const builtin = hoverText(await hoverAt(pos(ATHLETE, "stddev(pace)", 1)));
    expect(builtin).toContain("stddev(x) over <duration>");
  });

  it("`over`: the window's frame", async () => {
    const text = hoverText(await hoverAt(pos(ATHLETE, "km_7d = sum(distance) over 7d", 23)));
    expect(text).toContain("`sum` over the athlete's rows of `activity_stats` with event time in (t − 7d, t]");
  });

  it("the vocabulary: types, algorithms and hyperparameters, MDTs and their arguments, splits, metrics, clause keywords", async () => {
    const at = async (needle: string, delta: number) => hoverText(await hoverAt(pos(ATHLETE, needle, delta)));
    expect(await at("avg_hr: float?", 9)).toContain("type `float`: finite doubles");
    expect(await at("algorithm gbdt", 11)).toMatch(/^algorithm `gbdt` for regression, binary_classification.*hyperparameters: `trees` \(int, default \d+\)/);
    expect(await at("depth: 6", 1)).toMatch(/^hyperparameter `depth`: int, 1 … \d+, default \d+$/);
    expect(await at(": standard_scale", 3)).toContain("MDT `standard_scale` (fitted on the training split");
    expect(await at("impute(median)", 8)).toContain("`impute(median)`: a null becomes the median");
    expect(await at("clip(min: -1", 6)).toContain("`clip(min: a)`");
    expect(await at("split time(test_last", 7)).toContain("split: `time(test_last: 90d)`");
    expect(await at("metric mae, rmse", 13)).toBe("metric `rmse` (regression): lower is better");
    expect(await at("when live(mae", 11)).toBe("metric `mae` (regression): lower is better");
    expect(await at("task regression", 6)).toContain("task `regression`: predict a number");
    expect(await at("as_of strict", 7)).toContain("strictly before t");
    expect(await at("stream lateness", 2)).toContain("pushed one event at a time");
    // A column named like an option is still the column.
    expect(await at("started_at: timestamp", 15)).toContain("type `timestamp`");
    expect(await at("  route_id: string", 4)).toContain("field activities.route_id: string");
  });

  it("while another declaration is broken, a feature of a group that checks shows its type now, not the last version's", async () => {
    const broken = ATHLETE.replace("pace_28d = avg(pace) over 28d", "pace_28d = avg(paec) over 28d").replace("  climb = elevation_per_km(elevation_gain_m, distance_km)", "  climb = elevation_per_km(elevation_gain_m, distance_km) > 10.0");
    expect(codes(await edit(broken))).toEqual(["FTI2002"]);
    const climb = hoverText(await hoverAt(pos(broken, "  climb = ", 3)));
    expect(climb).toContain("feature activity_stats.climb: bool?"); // the last version that checked said float?
    expect(climb).toContain("Lineage: `activities.distance_km`, `activities.elevation_gain_m`");
    expect(climb).toMatch(/_types of the text as it is \(the spec has errors elsewhere\)_$/);
    expect(climb).not.toContain("last version");
    // The broken feature itself: the last version's type, said so.
    expect(hoverText(await hoverAt(pos(broken, "pace_28d = avg", 2)))).toContain("_types from the last version that checked");
    await edit(ATHLETE);
  });

  it("nothing on punctuation", async () => {
    expect(await hoverAt(pos(ATHLETE, "{"))).toBeNull();
  });
});

describe("fti lsp: completion", () => {
  const completeAt = async (text: string, p: Position) => {
    await edit(text);
    return labels(await lsp.conn.sendRequest(CompletionRequest.type, { textDocument: doc, position: p }));
  };

  it("a group's features after `group.`, with `*` in a view's features", async () => {
    const text = ATHLETE.replace("fitness.pace_28d): float =\n  (planned", "fitness.): float =\n  (planned");
    const items = await completeAt(text, pos(text, "fitness.)", 8));
    expect(items).toEqual(expect.arrayContaining(["ctl_42d", "pace_28d", "zone_28d"]));
    expect(items).not.toContain("*");
    const view = ATHLETE.replace("features fitness.*,", "features fitness.,");
    expect(await completeAt(view, pos(view, "fitness.,", 8))).toEqual(expect.arrayContaining(["*", "pace_28d"]));
  });

  it("inside a group: the input's columns, earlier features, functions and built-ins", async () => {
    const text = ATHLETE.replace("  zone_28d = avg(zone) over 28d", "  zone_28d = avg(zone) over 28d\n  x = ");
    const items = await completeAt(text, pos(text, "  x = ", 6));
    expect(items).toEqual(expect.arrayContaining(["pace", "climb", "tss", "ctl_42d", "pace_min_km", "ewma", "coalesce", "if"]));
    expect(items).not.toContain("athlete");
  });

  it("option values: algorithms, hyperparameters, metrics, MDTs, tasks; declarations by kind", async () => {
    const algo = ATHLETE.replace("algorithm gbdt(trees: 150, depth: 6, learning_rate: 0.1)", "algorithm ");
    expect(await completeAt(algo, pos(algo, "algorithm ", 10))).toEqual(["linear", "logistic", "gbdt", "onnx"]);
    const hyper = ATHLETE.replace("gbdt(trees: 150, depth: 6, learning_rate: 0.1)", "gbdt(trees: 150, )");
    expect(await completeAt(hyper, pos(hyper, "trees: 150, ", 12))).toEqual(expect.arrayContaining(["depth", "learning_rate", "min_leaf"]));
    const metric = ATHLETE.replace("metric mae, rmse, r2", "metric mae, ");
    expect(await completeAt(metric, pos(metric, "metric mae, ", 12))).toEqual(["mae", "rmse", "r2"]);
    const mdt = ATHLETE.replace("transform pace_sd_28d: impute(median)", "transform pace_sd_28d: ");
    expect(await completeAt(mdt, pos(mdt, "transform pace_sd_28d: ", 23))).toEqual(expect.arrayContaining(["standard_scale", "impute", "one_hot", "clip"]));
    const input = ATHLETE.replace("transform pace_sd_28d: impute(median)", "transform ");
    expect(await completeAt(input, pos(input, "transform \n", 10))).toEqual(expect.arrayContaining(["pace_sd_28d", "ctl_42d", "pace_deviation"]));
    const task = ATHLETE.replace("task regression", "task ");
    expect(await completeAt(task, pos(task, "task ", 5))).toEqual(["regression", "binary_classification", "multiclass_classification"]);
    const entity = ATHLETE.replace("feature_group fitness for athlete", "feature_group fitness for ");
    expect(await completeAt(entity, pos(entity, "fitness for ", 12))).toEqual(["athlete", "route"]);
  });

  it("source clauses: `stream` at the start of an item, `lateness` after it", async () => {
    const text = ATHLETE.replace(/ {2}stream lateness 1d.*\n/, "  \n");
    expect(await completeAt(text, pos(text, "  \n  event_time", 2))).toEqual(expect.arrayContaining(["stream", "event_time", "valid_from"]));
    const after = ATHLETE.replace(/ {2}stream lateness 1d.*\n/, "  stream \n");
    expect(await completeAt(after, pos(after, "  stream ", 9))).toEqual(["lateness"]);
    await edit(ATHLETE);
  });

  it("clause keywords at the start of a model item, declarations at the top level", async () => {
    const text = ATHLETE.replace("  metric mae, rmse, r2", "  metric mae, rmse, r2\n  ");
    expect(await completeAt(text, pos(text, "r2\n  ", 5))).toEqual(["view", "task", "algorithm", "transform", "split", "metric", "require", "retrain"]);
    const top = ATHLETE + "\n";
    const items = await completeAt(top, { line: top.split("\n").length - 1, character: 0 });
    expect(items).toEqual(expect.arrayContaining(["source", "feature_group", "on_demand", "model", "index", "agent"]));
    await edit(ATHLETE);
  });

  it("headers: a view's `from` and `where`, the keywords a header takes next, a group's `where`", async () => {
    const from = ATHLETE.replace("view route_pace_data for athlete from activities", "view route_pace_data for athlete from ");
    expect(await completeAt(from, pos(from, "route_pace_data for athlete from ", 33))).toEqual(["activities", "profiles", "coach_notes"]);
    const next = ATHLETE.replace("view route_pace_data for athlete from activities", "view route_pace_data for athlete f");
    expect(await completeAt(next, pos(next, "route_pace_data for athlete f", 29))).toEqual(["from"]);
    const header = ATHLETE.replace("feature_group route_stats for route from", "feature_group route_stats  for route from");
    expect(await completeAt(header, pos(header, "route_stats  for", 12))).toEqual(["version", "for", "from"]);
    for (const decl of ["view route_pace_data for athlete from activities where", "feature_group route_stats for route from activities where"]) {
      const where = ATHLETE.replace(`${decl} sport != "treadmill"`, `${decl} `);
      const items = await completeAt(where, pos(where, `${decl} `, decl.length + 1));
      expect(items, decl).toEqual(expect.arrayContaining(["sport", "route_id", "distance_km", "coalesce", "not"]));
      expect(items, decl).not.toContain("route_pace"); // a group's own features are not rows of its input
    }
    await edit(ATHLETE);
  });

  it("an ODT's parameters, an index's column, `batch into`, a model's retrain block", async () => {
    const odt = ATHLETE.replace("on_demand planned_climb(request elevation_gain_m: float, ", "on_demand planned_climb(");
    expect(await completeAt(odt, pos(odt, "planned_climb(", 14))).toEqual(["request", "activity_stats", "fitness", "route_stats", "profile", "note_texts"]);
    const index = ATHLETE.replace("on note_texts(embedding)", "on note_texts()");
    expect(await completeAt(index, pos(index, "note_texts()", 11))).toEqual(["note", "embedding"]);
    const batch = ATHLETE.replace("batch into predictions.time_estimator", "batch ");
    expect(await completeAt(batch, pos(batch, "batch \n", 6))).toEqual(["into"]);
    const retrain = ATHLETE.replace("    when drift(psi > 0.25)  // an input's distribution moved\n", "    \n");
    expect(await completeAt(retrain, pos(retrain, "Monday at 03:00 UTC\n    ", 24))).toEqual(["schedule", "when drift", "when live", "promote if better"]);
    const when = ATHLETE.replace("when drift(psi > 0.25)", "when ");
    expect(await completeAt(when, pos(when, "    when  ", 9))).toEqual(["drift", "live"]);
    const live = ATHLETE.replace("when live(mae > 700)", "when live()");
    expect(await completeAt(live, pos(live, "live()", 5))).toEqual(["mae", "rmse", "r2"]);
    await edit(ATHLETE);
  });

  it("in an agent: its clauses, groups after `context`, indexes after `retrieve`, `top`, models after `tool`", async () => {
    const clause = ATHLETE.replace("  tool time_estimator\n", "  tool time_estimator\n  \n");
    expect(await completeAt(clause, pos(clause, "time_estimator\n  \n", 17))).toEqual(["llm", "context", "retrieve", "tool", "prompt"]);
    const context = ATHLETE.replace("  context fitness.*", "  context ");
    expect(await completeAt(context, pos(context, "  context ", 10))).toEqual(expect.arrayContaining(["fitness", "note_texts"]));
    const retrieve = ATHLETE.replace("retrieve notes top 5", "retrieve ");
    expect(await completeAt(retrieve, pos(retrieve, "retrieve ", 9))).toEqual(["notes"]);
    const top = ATHLETE.replace("retrieve notes top 5", "retrieve notes ");
    expect(await completeAt(top, pos(top, "retrieve notes ", 15))).toEqual(["top"]);
    const tool = ATHLETE.replace("  tool time_estimator", "  tool ");
    expect(await completeAt(tool, pos(tool, "  tool ", 7))).toEqual(["time_estimator", "route_pace"]);
    const on = ATHLETE.replace("index notes on note_texts(embedding)", "index notes on ");
    expect(await completeAt(on, pos(on, "notes on ", 9))).toEqual(expect.arrayContaining(["fitness", "note_texts"]));
    await edit(ATHLETE);
  });
});

describe("fti lsp: navigation and rename", () => {
  it("go to definition: a feature used in an ODT, a group in a view", async () => {
    const def = await lsp.conn.sendRequest(DefinitionRequest.type, { textDocument: doc, position: pos(ATHLETE, "- pace_28d) / pace_28d", 3) });
    expect(def).toEqual({ uri, range: { start: pos(ATHLETE, "pace_28d = avg"), end: pos(ATHLETE, "pace_28d = avg", 8) } });
    const group = await lsp.conn.sendRequest(DefinitionRequest.type, { textDocument: doc, position: pos(ATHLETE, "features fitness.*", 10) });
    expect(group).toMatchObject({ range: { start: pos(ATHLETE, "feature_group fitness", 14) } });
  });

  it("go to definition on an extern fn's module opens the TypeScript file", async () => {
    const def = await lsp.conn.sendRequest(DefinitionRequest.type, { textDocument: doc, position: pos(ATHLETE, '"./athlete.functions.ts"', 3) });
    expect(def).toEqual({ uri: pathToFileURL(path.resolve("specs/athlete.functions.ts")).href, range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } });
  });

  it("find references: every use of a group and of a source column", async () => {
    const refs = await lsp.conn.sendRequest(ReferencesRequest.type, { textDocument: doc, position: pos(ATHLETE, "feature_group fitness", 15), context: { includeDeclaration: true } });
    expect(refs!.filter((r) => r.uri === uri).length).toBe(1 + ATHLETE.match(/fitness\./g)!.length);
    // and in specs/weekly_km.fti, which imports it: the import and its six features
    const weekly = fs.readFileSync("specs/weekly_km.fti", "utf8");
    const weeklyUri = pathToFileURL(path.resolve("specs/weekly_km.fti")).href;
    expect(refs!.filter((r) => r.uri === weeklyUri).map((r) => r.range.start)).toEqual([pos(weekly, "fitness }"), ...[0, 1, 2, 3, 4, 5].map((n) => pos(weekly, "fitness.", 0, n))]);
    const col = await lsp.conn.sendRequest(ReferencesRequest.type, { textDocument: doc, position: pos(ATHLETE, "elapsed_time_s: float", 2), context: { includeDeclaration: false } });
    // in activity_stats (twice), the view's label, route_stats and route_pace_data's label
    expect(col!.map((l) => l.range.start.line)).toEqual([
      pos(ATHLETE, "pace = pace_min_km").line,
      pos(ATHLETE, "tss = estimated_tss").line,
      pos(ATHLETE, "route_pace = pace_min_km").line,
      pos(ATHLETE, "activities.elapsed_time_s").line,
      pos(ATHLETE, "label pace_min_km = elapsed_time_s").line,
    ]);
  });

  it("rename a feature: its definition and every use, and the result checks", async () => {
    const at = pos(ATHLETE, "  pace = pace_min_km", 3);
    const prep = await lsp.conn.sendRequest(PrepareRenameRequest.type, { textDocument: doc, position: at });
    expect(prep).toMatchObject({ placeholder: "pace" });
    const ws = await lsp.conn.sendRequest(RenameRequest.type, { textDocument: doc, position: at, newName: "pace_min" });
    const edits = ws!.changes![uri];
    expect(edits.length).toBe(4); // definition, estimated_tss(pace, …), avg(pace), stddev(pace); no `pace` inside other names
    const renamed = applyEdits(ATHLETE, edits);
    expect(renamed).toContain("avg(pace_min) over 28d");
    expect(renamed).toContain("estimated_tss(pace_min, 5.0");
    expect(await edit(renamed)).toEqual([]);
    await expect(lsp.conn.sendRequest(RenameRequest.type, { textDocument: doc, position: pos(renamed, "pace_min = "), newName: "climb" })).rejects.toThrow(/already declared/);
    await expect(lsp.conn.sendRequest(RenameRequest.type, { textDocument: doc, position: pos(renamed, "pace_min = "), newName: "model" })).rejects.toThrow(/not a valid name/);
    await edit(ATHLETE);
  });

  it("rename a source column: also where a group's `where` and `for entity(column)` read it; the result checks", async () => {
    const sport = await lsp.conn.sendRequest(RenameRequest.type, { textDocument: doc, position: pos(ATHLETE, "sport: string", 1), newName: "kind" });
    const renamed = applyEdits(ATHLETE, sport!.changes![uri]);
    expect(renamed.match(/where kind != "treadmill"/g)).toHaveLength(2); // route_stats and route_pace_data
    expect(renamed).not.toMatch(/\bsport\b/);
    expect(await edit(renamed)).toEqual([]);
    const keyed = ATHLETE.replace("feature_group route_stats for route from", "feature_group route_stats for route(route_id) from");
    expect(await edit(keyed)).toEqual([]);
    const route = await lsp.conn.sendRequest(RenameRequest.type, { textDocument: doc, position: pos(keyed, "route_id: string", 1), newName: "route_key" });
    const moved = applyEdits(keyed, route!.changes![uri]);
    expect(moved).toContain("feature_group route_stats for route(route_key) from");
    expect(moved).toContain("key route_id: string"); // the entity's key is another name
    expect(await edit(moved)).toEqual([]);
    await edit(ATHLETE);
  });

  it("outline, folding and semantic tokens", async () => {
    const symbols = (await lsp.conn.sendRequest(DocumentSymbolRequest.type, { textDocument: doc })) as Array<{ name: string; children?: Array<{ name: string }> }>;
    expect(symbols.map((s) => s.name)).toEqual(expect.arrayContaining(["activities", "athlete", "fitness", "time_estimator_data", "time_estimator", "serve time_estimator"]));
    expect(symbols.find((s) => s.name === "fitness")!.children!.map((c) => c.name)).toContain("pace_28d");
    const folds = await lsp.conn.sendRequest(FoldingRangeRequest.type, { textDocument: doc });
    expect(folds!.some((f) => f.startLine === pos(ATHLETE, "source activities").line && f.endLine >= pos(ATHLETE, "avg_hr").line)).toBe(true);
    const tokens = await lsp.conn.sendRequest(SemanticTokensRequest.type, { textDocument: doc });
    expect(tokens!.data.length % 5).toBe(0);
    expect(tokens!.data.length / 5).toBeGreaterThan(250);
  });
});

describe("fti lsp: formatting and code actions", () => {
  it("formats with fti fmt, and refuses a spec with syntax errors", async () => {
    const messy = ATHLETE.replace("  event_time started_at", "event_time    started_at").replace("= ewma(tss) over 42d", "=ewma( tss )over 42d");
    await edit(messy);
    const edits = await lsp.conn.sendRequest(DocumentFormattingRequest.type, { textDocument: doc, options: { tabSize: 2, insertSpaces: true } });
    expect(applyEdits(messy, edits!)).toBe(ATHLETE);
    await edit(messy + "\nmodel (");
    expect(await lsp.conn.sendRequest(DocumentFormattingRequest.type, { textDocument: doc, options: { tabSize: 2, insertSpaces: true } })).toEqual([]);
    await edit(ATHLETE);
  });

  const fixes = async (ds: Diagnostic[]) => lsp.conn.sendRequest(CodeActionRequest.type, { textDocument: doc, range: ds[0].range, context: { diagnostics: ds } });

  it("did you mean: replaces the misspelled name", async () => {
    const broken = ATHLETE.replace(", pace_deviation,", ", pace_deviaton,");
    const ds = await edit(broken);
    expect(codes(ds)).toEqual(["FTI2003"]);
    const actions = (await fixes(ds)) as Array<{ title: string; edit: { changes: Record<string, TextEdit[]> } }>;
    expect(actions.map((a) => a.title)).toEqual(["Change to `pace_deviation`"]);
    const fixed = applyEdits(broken, actions[0].edit.changes[uri]);
    expect(fixed).toBe(ATHLETE);
    expect(await edit(fixed)).toEqual([]);
  });

  it("a nullable input of a linear model: adds impute, first on an existing transform line or as a new one", async () => {
    const linear = ATHLETE.replace("algorithm gbdt(trees: 150, depth: 6, learning_rate: 0.1)", "algorithm linear");
    const ds = await edit(linear);
    expect(ds.length).toBeGreaterThan(3);
    expect(new Set(codes(ds))).toEqual(new Set(["FTI4007"]));
    let text = linear;
    // Apply every fix (each against the text it was computed for), then the model checks.
    for (let round = 0; round < 20; round++) {
      const current = await edit(text);
      if (!current.length) break;
      const actions = (await fixes([current[0]])) as Array<{ edit: { changes: Record<string, TextEdit[]> } }>;
      expect(actions, JSON.stringify(current[0])).toHaveLength(1);
      text = applyEdits(text, actions[0].edit.changes[uri]);
    }
    expect(await edit(text)).toEqual([]);
    expect(text).toContain("  transform ctl_42d, atl_7d, form: impute(median), standard_scale\n");
    expect(text).toContain("transform pace_deviation: impute(median), clip(min: -1, max: 1)");
    expect(text).toMatch(/\n  transform pace_28d: impute\(median\)\n/);
    await edit(ATHLETE);
  });
});

describe("fti lsp: files a spec reads", () => {
  it("re-checks open specs when a watched file changes (an extern fn's module)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-lsp-"));
    fs.copyFileSync("specs/athlete.functions.ts", path.join(dir, "athlete.functions.ts"));
    const spec = path.join(dir, "a.fti");
    fs.writeFileSync(spec, ATHLETE);
    const specUri = pathToFileURL(spec).href;
    expect((await lsp.open(specUri, ATHLETE)).diagnostics).toEqual([]);
    const module = path.join(dir, "athlete.functions.ts");
    fs.writeFileSync(module, fs.readFileSync(module, "utf8").replace(/export function hr_zone\(([^)]*)\)/, "export function hr_zone(avgHr: string, maxHr: number)"));
    const next = lsp.nextDiagnostics(specUri);
    await lsp.conn.sendNotification(DidChangeWatchedFilesNotification.type, { changes: [{ uri: pathToFileURL(module).href, type: FileChangeType.Changed }] });
    expect(codes((await next).diagnostics)).toEqual(["FTI3008"]);
    await lsp.close(specUri);
  });
});

describe("fti lsp: close", () => {
  it("clears the diagnostics of a closed document", async () => {
    await edit(ATHLETE.replace("avg(pace)", "avg(paec)"));
    const cleared = await lsp.close(uri);
    expect(cleared.diagnostics).toEqual([]);
    const reopened = await lsp.open(uri, ATHLETE.replace("avg(pace)", "avg(paec)"));
    expect(codes(reopened.diagnostics)).toEqual(["FTI2002"]);
    version = 1;
    await edit(ATHLETE);
    expect(lsp.stderr()).toBe("");
  });
});

describe("fti lsp: document uris", () => {
  it("a file uri with a host or an encoded slash is analysed as an untitled document: diagnostics, hover, no stack trace", async () => {
    // Node cannot map these to a path here: each threw out of every request (-32603) and each diagnostics run (a stack on stderr).
    for (const odd of ["file://server/share/odd.fti", "file:///tmp/a%2Fodd.fti"]) {
      const text = "entity rider {\n  key rider_id: string\n}\nfeature_group g for rider from nowhere {\n  x = 1\n}\n";
      const published = await lsp.open(odd, text);
      expect(codes(published.diagnostics), odd).toEqual(["FTI2003"]); // `nowhere` is no source or group
      const h = await lsp.conn.sendRequest(HoverRequest.type, { textDocument: { uri: odd }, position: pos(text, "rider", 0, 1) });
      expect(hoverText(h), odd).toContain("rider");
      await lsp.close(odd);
    }
    expect(lsp.stderr()).toBe("");
  });
});

describe("fti lsp: params of the wrong shape", () => {
  it("a request whose textDocument, position or name is not what the protocol says is -32602 naming the field; a didOpen with a number for its uri says nothing on stderr", async () => {
    const text = "entity rider {\n  key rider_id: string\n}\n";
    const uri = "file:///tmp/shape-check.fti";
    await lsp.open(uri, text);
    const refused = async (method: string, params: unknown) => {
      const err = await lsp.conn.sendRequest(method, params).then(() => undefined, (e: { code: number; message: string }) => e);
      return err && { code: err.code, message: err.message };
    };
    expect(await refused("textDocument/hover", { textDocument: { uri: 5 }, position: { line: 0, character: 1 } })).toEqual({ code: -32602, message: "textDocument.uri: expected a string" });
    expect(await refused("textDocument/hover", { textDocument: { uri }, position: null })).toEqual({ code: -32602, message: "position: expected { line, character }, whole numbers ≥ 0" });
    expect(await refused("textDocument/completion", { textDocument: { uri }, position: { line: -1, character: "a" } })).toEqual({ code: -32602, message: "position: expected { line, character }, whole numbers ≥ 0" });
    expect((await refused("textDocument/definition", null))?.code).toBe(-32602); // vscode-jsonrpc's own check
    expect(await refused("textDocument/rename", { textDocument: { uri }, position: { line: 0, character: 8 }, newName: 7 })).toEqual({ code: -32602, message: "newName: expected a string" });
    expect(await refused("textDocument/references", { textDocument: { uri }, position: { line: 0, character: 8 } })).toEqual({ code: -32602, message: "context: expected an object" });
    expect(await refused("workspace/symbol", { query: ["rider"] })).toEqual({ code: -32602, message: "query: expected a string" });
    expect(await refused("textDocument/documentSymbol", {})).toEqual({ code: -32602, message: "textDocument.uri: expected a string" });
    // The server still answers a well-formed request after them.
    const h = await lsp.conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position: pos(text, "rider", 0, 1) });
    expect(hoverText(h)).toContain("rider");
    await lsp.conn.sendNotification("textDocument/didOpen", { textDocument: { uri: 5, languageId: "fti", version: 1, text } });
    expect(await refused("textDocument/hover", { textDocument: { uri }, position: pos(text, "rider", 0, 1) })).toBeUndefined();
    await lsp.close(uri);
    expect(lsp.stderr()).toBe("");
  });
});
