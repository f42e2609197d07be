// The language server across spec modules (`import { … } from "./common.fti"`),
// through the protocol: go to definition, find references and rename follow a
// shared name into the module that declares it and into every spec importing
// it — open in the editor or only on disk — and completion knows what an
// import can name.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CodeActionRequest, CompletionRequest, DefinitionRequest, ReferencesRequest, RenameRequest, type CompletionItem, type TextEdit } from "vscode-languageserver-protocol/node";
import { startLsp, type LspClient } from "./helpers/lsp-client.ts";
import { applyEdits, pos } from "./helpers/lsp-text.ts";

const COMMON = `entity user {
  key user_id: string
}

source clicks {
  path "data/clicks.csv"
  event_time at
  fields {
    user_id: string
    at: timestamp
    price: float?
    amount: float
  }
}

fn double(x: float): float = x * 2

feature_group spend for user from clicks {
  total_7d = sum(price) over 7d
  doubled = double(amount)
}
`;

const MAIN = `import { user, clicks, spend, double } from "./common.fti"

on_demand twice(request amount: float, spend.total_7d): float = double(amount) + coalesce(total_7d, 0.0)

view buy_data for user from clicks {
  label bought = price
  features spend.*, twice
}

model buyer {
  view buy_data
  task regression
  algorithm gbdt(trees: 10)
  transform total_7d: impute(median)
  split time(test_last: 7d)
  metric mae
}
`;

// An importer that is not open: found on disk.
const OTHER = `import { user, clicks, spend } from "./common.fti"

view spend_data for user from clicks {
  label paid = amount
  features spend.total_7d
}

model payer {
  view spend_data
  task regression
  algorithm linear
  transform total_7d: impute(median)
  split time(test_last: 7d)
  metric mae
}
`;

const codes = (ds: Array<{ code?: string | number }>) => ds.map((d) => d.code).sort();
const labels = (items: unknown) => (items as CompletionItem[]).map((i) => i.label);

let lsp: LspClient;
let dir: string;
let common: string, main: string, other: string;
const at = (uri: string, text: string, needle: string, delta = 0, nth = 0) => ({ textDocument: { uri }, position: pos(text, needle, delta, nth) });

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-lsp-modules-"));
  fs.writeFileSync(path.join(dir, "fti.json"), "{}\n");
  fs.mkdirSync(path.join(dir, "team"));
  fs.writeFileSync(path.join(dir, "common.fti"), COMMON);
  fs.writeFileSync(path.join(dir, "main.fti"), MAIN);
  fs.writeFileSync(path.join(dir, "team", "other.fti"), OTHER.replace("./common.fti", "../common.fti"));
  [common, main, other] = ["common.fti", "main.fti", "team/other.fti"].map((f) => pathToFileURL(path.join(dir, f)).href);
  lsp = await startLsp(dir);
  expect(codes((await lsp.open(main, MAIN)).diagnostics)).toEqual([]);
  expect(codes((await lsp.open(common, COMMON)).diagnostics)).toEqual(["FTI2008"]); // `spend` is used only by its importers
}, 60_000);

afterAll(async () => {
  await lsp?.stop();
  expect(lsp.stderr()).toBe("");
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("fti lsp across spec modules: go to definition", () => {
  const defAt = (needle: string, delta: number, nth = 0) => lsp.conn.sendRequest(DefinitionRequest.type, at(main, MAIN, needle, delta, nth));
  const inCommon = (needle: string, length: number) => ({ uri: common, range: { start: pos(COMMON, needle), end: pos(COMMON, needle, length) } });

  it("an imported group's feature, where an ODT takes it, uses it and a model transforms it", async () => {
    const total = inCommon("total_7d =", 8);
    expect(await defAt("spend.total_7d", 8)).toEqual(total);
    expect(await defAt("(total_7d", 3)).toEqual(total);
    expect(await defAt("transform total_7d", 12)).toEqual(total);
  });

  it("an imported source's field in a view's label, an imported fn, an imported group", async () => {
    expect(await defAt("= price", 3)).toEqual(inCommon("price: float?", 5));
    expect(await defAt("double(amount", 2)).toEqual(inCommon("double(x", 6));
    expect(await defAt("features spend", 10)).toEqual(inCommon("spend for", 5));
  });
});

describe("fti lsp across spec modules: references and rename", () => {
  it("references of a module's feature: in the module, the open importer and the importer on disk", async () => {
    const refs = await lsp.conn.sendRequest(ReferencesRequest.type, { ...at(common, COMMON, "total_7d ="), context: { includeDeclaration: true } });
    const where = refs!.map((r) => `${path.relative(dir, new URL(r.uri).pathname)}:${r.range.start.line}:${r.range.start.character}`).sort();
    const p = (text: string, needle: string, delta = 0) => `${pos(text, needle, delta).line}:${pos(text, needle, delta).character}`;
    expect(where).toEqual(
      [
        `common.fti:${p(COMMON, "total_7d =")}`,
        `main.fti:${p(MAIN, "spend.total_7d", 6)}`,
        `main.fti:${p(MAIN, "(total_7d", 1)}`,
        `main.fti:${p(MAIN, "transform total_7d", 10)}`,
        `team/other.fti:${p(OTHER, "spend.total_7d", 6)}`,
        `team/other.fti:${p(OTHER, "transform total_7d", 10)}`,
      ].sort(),
    );
    // Asked from an importer, the same set.
    const fromMain = await lsp.conn.sendRequest(ReferencesRequest.type, { ...at(main, MAIN, "(total_7d", 1), context: { includeDeclaration: true } });
    expect(fromMain!.length).toBe(6);
  });

  it("rename a module's group from an importer: the declaration, every importer's import and uses; the result checks", async () => {
    const ws = await lsp.conn.sendRequest(RenameRequest.type, { ...at(main, MAIN, "features spend", 10), newName: "spent" });
    const changes = ws!.changes!;
    expect(Object.keys(changes).sort()).toEqual([common, main, other].sort());
    const newCommon = applyEdits(COMMON, changes[common]);
    const newMain = applyEdits(MAIN, changes[main]);
    const newOther = applyEdits(fs.readFileSync(path.join(dir, "team/other.fti"), "utf8"), changes[other]);
    expect(newCommon).toContain("feature_group spent for user");
    expect(newMain).toContain('import { user, clicks, spent, double } from "./common.fti"');
    expect(newMain).toContain("spent.total_7d): float");
    expect(newMain).toContain("features spent.*, twice");
    expect(newOther).toContain("features spent.total_7d");
    expect(newMain.replaceAll("spent", "spend")).toBe(MAIN);
    // Applied as an editor does (open documents changed, the other file written), everything checks.
    fs.writeFileSync(path.join(dir, "team/other.fti"), newOther);
    expect(codes((await lsp.change(common, 2, newCommon)).diagnostics)).toEqual(["FTI2008"]);
    expect(codes((await lsp.change(main, 2, newMain)).diagnostics)).toEqual([]);
    expect(codes((await lsp.open(other, newOther)).diagnostics)).toEqual([]);
    await lsp.close(other);
    // Back, from the module this time: a feature.
    const back = await lsp.conn.sendRequest(RenameRequest.type, { ...at(common, newCommon, "spent for"), newName: "spend" });
    expect(applyEdits(newMain, back!.changes![main])).toBe(MAIN);
    fs.writeFileSync(path.join(dir, "team/other.fti"), applyEdits(newOther, back!.changes![other]));
    await lsp.change(common, 3, COMMON);
    expect(codes((await lsp.change(main, 3, MAIN)).diagnostics)).toEqual([]);
  });

  it("a rename that would clash in an importer is refused, naming the file", async () => {
    // `twice` is main's own ODT: a module feature renamed to it would be fine, but a decl renamed to it would clash.
    await expect(lsp.conn.sendRequest(RenameRequest.type, { ...at(common, COMMON, "double(x"), newName: "twice" })).rejects.toThrow(/`twice` is already declared there \(in main\.fti\)/);
  });
});

describe("fti lsp across spec modules: quick fix of an unused import", () => {
  const fixOf = async (text: string, v: number) => {
    const ds = (await lsp.change(main, v, text)).diagnostics;
    expect(codes(ds)).toEqual(["FTI2044"]);
    const actions = (await lsp.conn.sendRequest(CodeActionRequest.type, { textDocument: { uri: main }, range: ds[0].range, context: { diagnostics: ds } })) as Array<{ title: string; edit: { changes: Record<string, TextEdit[]> } }>;
    expect(actions).toHaveLength(1);
    return { title: actions[0].title, text: applyEdits(text, actions[0].edit.changes[main]) };
  };

  it("removes the name from its import, or the whole import line when it is the only name; the result checks", async () => {
    const unused = MAIN.replace("double(amount) + ", "amount + ");
    const last = await fixOf(unused, 20);
    expect(last).toEqual({ title: "Remove `double` from the import", text: unused.replace(", double }", " }") });
    const middle = await fixOf(MAIN.replace("spend, double }", "double, spend }").replace("double(amount) + ", "amount + "), 21);
    expect(middle.text).toContain('import { user, clicks, spend } from "./common.fti"\n');
    const alone = unused.replace(", double }", " }").replace('from "./common.fti"\n', 'from "./common.fti"\nimport { double } from "./common.fti"\n');
    const line = await fixOf(alone, 22);
    expect(line).toEqual({ title: "Remove the unused import", text: unused.replace(", double }", " }") });
    expect(codes((await lsp.change(main, 23, line.text)).diagnostics)).toEqual([]);
    await lsp.change(main, 24, MAIN);
  });
});

describe("fti lsp across spec modules: completion", () => {
  it("inside `import { … }`: what the module declares and may export, less what is listed", async () => {
    const text = MAIN.replace("import { user, clicks, spend, double }", "import { user, clicks,  }");
    await lsp.change(main, 10, text);
    const items = labels(await lsp.conn.sendRequest(CompletionRequest.type, at(main, text, "clicks,  }", 8)));
    expect(items.sort()).toEqual(["double", "spend"]);
  });

  it("inside an import's path: the project's other specs, relative to this one", async () => {
    const text = MAIN.replace('from "./common.fti"', 'from "./c');
    await lsp.change(main, 13, text);
    const items = (await lsp.conn.sendRequest(CompletionRequest.type, at(main, text, 'from "./c', 9))) as CompletionItem[];
    expect(items.map((i) => i.label).sort()).toEqual(["./common.fti", "./team/other.fti"]);
    const edit = items.find((i) => i.label === "./common.fti")!.textEdit as TextEdit;
    expect(edit.range).toEqual({ start: pos(text, 'from "./c', 6), end: pos(text, 'from "./c', 9) });
    // From the other spec's folder: `../`.
    const otherText = fs.readFileSync(path.join(dir, "team/other.fti"), "utf8").replace('from "../common.fti"', 'from "');
    await lsp.open(other, otherText);
    expect(labels(await lsp.conn.sendRequest(CompletionRequest.type, at(other, otherText, 'from "', 6))).sort()).toEqual(["../common.fti", "../main.fti"]);
    await lsp.close(other);
    await lsp.change(main, 14, MAIN);
  });

  it("after a view's `from`: sources, imported ones included", async () => {
    const text = MAIN.replace("view buy_data for user from clicks {", "view buy_data for user from  {");
    await lsp.change(main, 11, text);
    expect(labels(await lsp.conn.sendRequest(CompletionRequest.type, at(main, text, "from  {", 5)))).toEqual(["clicks"]);
    await lsp.change(main, 12, MAIN);
  });
});
