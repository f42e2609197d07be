// What the language server offers beyond diagnostics and navigation, through
// the protocol: signature help inside a call, inlay hints of the types the
// checker inferred, and workspace symbols across the specs of a folder.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DidChangeTextDocumentNotification, InlayHintRequest, SignatureHelpRequest, WorkspaceSymbolRequest, type InlayHint, type Position, type SignatureHelp, type SymbolInformation } from "vscode-languageserver-protocol/node";
import { startLsp, type LspClient } from "./helpers/lsp-client.ts";
import { pos } from "./helpers/lsp-text.ts";

const ATHLETE = fs.readFileSync("specs/athlete.fti", "utf8");
const uri = pathToFileURL(path.resolve("specs/athlete.fti")).href;

let lsp: LspClient;
let version = 1;
let dir: string;

async function edit(text: string) {
  version++;
  return (await lsp.change(uri, version, text)).diagnostics;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-lsp-assist-"));
  lsp = await startLsp(process.cwd(), undefined, dir);
  expect((await lsp.open(uri, ATHLETE)).diagnostics).toEqual([]);
}, 60_000);

afterAll(async () => {
  await lsp?.stop();
  expect(lsp.stderr()).toBe("");
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("fti lsp: signature help", () => {
  const helpAt = async (text: string, p: Position) => {
    if (text !== ATHLETE) await edit(text);
    const h = (await lsp.conn.sendRequest(SignatureHelpRequest.type, { textDocument: { uri }, position: p })) as SignatureHelp | null;
    if (text !== ATHLETE) await edit(ATHLETE);
    if (!h) return null;
    const sig = h.signatures[h.activeSignature ?? 0];
    const [s, e] = sig.parameters![h.activeParameter ?? 0].label as [number, number];
    return { label: sig.label, active: sig.label.slice(s, e), doc: typeof sig.documentation === "object" ? sig.documentation.value : sig.documentation };
  };

  it("a spec's fn: its parameters with types, the one being typed, its doc comment", async () => {
    expect(await helpAt(ATHLETE, pos(ATHLETE, "pace_min_km(distance_km, elapsed_time_s)", 25))).toEqual({
      label: "pace_min_km(distance_km: float, elapsed_time_s: float): float",
      active: "elapsed_time_s: float",
      doc: "Feature functions: pure, typed, one per feature.",
    });
    // Inside a nested call, the innermost one; after the nested call closes, the outer one again.
    const nested = ATHLETE.replace("tss = estimated_tss(pace, 5.0, elapsed_time_s)", "tss = estimated_tss(abs(pace), 5.0, elapsed_time_s)");
    expect((await helpAt(nested, pos(nested, "abs(pace)", 5)))!.label).toMatch(/^abs\(/);
    expect(await helpAt(nested, pos(nested, "abs(pace), 5.0", 11))).toMatchObject({ active: "threshold_pace: float" });
    expect(await helpAt(ATHLETE, pos(ATHLETE, "hr_zone(avg_hr, 190.0)", 16))).toMatchObject({ label: "hr_zone(avg_hr: float?, max_hr: float): int?", active: "max_hr: float" });
  });

  it("built-ins while the call is being typed: a variadic function, a windowed aggregation", async () => {
    const typing = ATHLETE.replace("  zone_28d = avg(zone) over 28d", "  zone_28d = avg(zone) over 28d\n  hr = coalesce(zone, ");
    expect(await helpAt(typing, pos(typing, "coalesce(zone, ", 15))).toMatchObject({ label: "coalesce(x: same, …)", active: "x: same" });
    const window = await helpAt(ATHLETE, pos(ATHLETE, "stddev(pace)", 7));
    expect(window).toMatchObject({ label: "stddev(x) over <duration>", active: "x" });
    expect(window!.doc).toContain("windowed aggregation");
  });

  it("an algorithm's hyperparameters: the one named at the cursor, else the first not given", async () => {
    expect(await helpAt(ATHLETE, pos(ATHLETE, "depth: 6", 7))).toMatchObject({ label: expect.stringMatching(/^gbdt\(trees: int = \d+, depth: int/), active: expect.stringMatching(/^depth: int/) });
    const typing = ATHLETE.replace("gbdt(trees: 150, depth: 6, learning_rate: 0.1)", "gbdt(depth: 6, ");
    expect(await helpAt(typing, pos(typing, "gbdt(depth: 6, ", 15))).toMatchObject({ active: expect.stringMatching(/^trees: int/) });
  });

  it("nothing outside a call", async () => {
    expect(await helpAt(ATHLETE, pos(ATHLETE, "ttl 90d", 5))).toBeNull();
    expect(await helpAt(ATHLETE, pos(ATHLETE, "feature_group fitness", 3))).toBeNull();
  });
});

describe("fti lsp: inlay hints", () => {
  const hintsOf = async () => (await lsp.conn.sendRequest(InlayHintRequest.type, { textDocument: { uri }, range: { start: { line: 0, character: 0 }, end: { line: 10_000, character: 0 } } })) as InlayHint[];
  const labelAt = (hints: InlayHint[], p: Position) => hints.find((h) => h.position.line === p.line && h.position.character === p.character)?.label;

  it("the inferred type after every feature of a group and a view's label", async () => {
    const hints = await hintsOf();
    expect(labelAt(hints, pos(ATHLETE, "  pace = pace_min_km", 6))).toBe(": float?"); // the fn divides: null for a zero distance (docs/language.md §3.3)
    expect(labelAt(hints, pos(ATHLETE, "  distance = distance_km", 10))).toBe(": float");
    expect(labelAt(hints, pos(ATHLETE, "  zone = hr_zone", 6))).toBe(": int?");
    expect(labelAt(hints, pos(ATHLETE, "  runs_28d = count()", 10))).toBe(": int");
    expect(labelAt(hints, pos(ATHLETE, "  pace_28d = avg", 10))).toBe(": float?");
    expect(labelAt(hints, pos(ATHLETE, "label finish_time_s", 19))).toBe(": float");
    const features = [...ATHLETE.matchAll(/^ {2}[a-z_0-9]+ = /gm)].length; // every feature line of every group
    const labels = [...ATHLETE.matchAll(/^ {2}label /gm)].length;
    expect(hints.length).toBe(features + labels);
  });

  it("while another declaration is broken, the groups that check keep theirs; the broken one shows none", async () => {
    const broken = ATHLETE.replace("pace_28d = avg(pace) over 28d", "pace_28d = avg(paec) over 28d");
    expect((await edit(broken)).map((d) => d.code)).toEqual(["FTI2002"]);
    const hints = await hintsOf();
    expect(labelAt(hints, pos(broken, "  pace = pace_min_km", 6))).toBe(": float?");
    expect(labelAt(hints, pos(broken, "  route_runs_180d = count()", 17))).toBe(": int");
    expect(labelAt(hints, pos(broken, "  pace_28d = avg", 10))).toBeUndefined();
    expect(labelAt(hints, pos(broken, "  ctl_42d = ewma", 9))).toBe(": float?"); // its group's other features checked
    // A feature reading the broken one is typed with a stand-in by the checker: no hint either.
    const reader = broken.replace("  runs_28d = count() over 28d", "  runs_28d = count() over 28d\n  slow = pace_28d > 6.0");
    await edit(reader);
    const withReader = await hintsOf();
    expect(labelAt(withReader, pos(reader, "  slow = pace_28d", 6))).toBeUndefined();
    expect(labelAt(withReader, pos(reader, "  runs_28d = count()", 10))).toBe(": int");
    await edit(ATHLETE);
  });

  it("only the requested range", async () => {
    const line = pos(ATHLETE, "feature_group route_stats").line;
    const hints = (await lsp.conn.sendRequest(InlayHintRequest.type, { textDocument: { uri }, range: { start: { line, character: 0 }, end: { line: line + 4, character: 0 } } })) as InlayHint[];
    expect(hints.map((h) => h.label)).toEqual([": float?", ": float?", ": int"]);
  });
});

describe("fti lsp: workspace symbols", () => {
  it("declarations and features of every spec in the workspace folder, unsaved text of open ones, by letters in order", async () => {
    fs.mkdirSync(path.join(dir, "team"));
    fs.mkdirSync(path.join(dir, "node_modules", "x"), { recursive: true });
    fs.writeFileSync(path.join(dir, "team", "loads.fti"), ATHLETE.replace("feature_group fitness", "feature_group team_fitness").replaceAll("fitness.", "team_fitness."));
    fs.writeFileSync(path.join(dir, "node_modules", "x", "vendored.fti"), "entity vendored { key id: string }\n");
    const draft = pathToFileURL(path.join(dir, "draft.fti")).href;
    fs.writeFileSync(path.join(dir, "draft.fti"), "");
    await lsp.open(draft, "entity rider {\n  key rider_id: string\n}\n");
    const search = async (query: string) => (await lsp.conn.sendRequest(WorkspaceSymbolRequest.type, { query })) as SymbolInformation[];
    const found = await search("ctl42");
    expect(found.map((s) => s.name).sort()).toEqual(["fitness.ctl_42d", "team_fitness.ctl_42d"]); // the open athlete spec's, and the folder's
    const team = found.find((s) => s.name === "team_fitness.ctl_42d")!;
    expect(team.location.uri).toBe(pathToFileURL(path.join(dir, "team", "loads.fti")).href);
    expect(team.location.range.start).toEqual(pos(ATHLETE, "ctl_42d = ewma"));
    expect((await search("rider")).map((s) => s.name)).toEqual(["rider"]); // the open document's unsaved text
    expect((await search("vendored")).length).toBe(0); // node_modules is not the workspace's
    const all = await search("");
    expect(all.filter((s) => s.kind === 5 /* Class */).map((s) => s.name)).toEqual(expect.arrayContaining(["athlete", "route", "rider", "time_estimator"]));
    await lsp.close(draft);
  });
});

describe("fti lsp: typing fast", () => {
  it("keystrokes sent without waiting: the last version's diagnostics are those of its text, and nothing older comes after them", async () => {
    // Type a new feature group into the athlete spec, one character per change, as fast as the pipe takes them.
    const addition = "\nfeature_group quick for athlete from activity_stats {\n  fast = pace < 4.5\n  n = count() over 7d\n}\n";
    const from = lsp.published.length;
    const first = version + 1;
    for (let i = 1; i < addition.length; i++) {
      version++;
      void lsp.conn.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version }, contentChanges: [{ text: ATHLETE + addition.slice(0, i) }] });
    }
    const final = await edit(ATHLETE + addition); // waits for the last version's diagnostics
    const seen = lsp.published.slice(from).filter((p) => p.uri === uri);
    const versions = seen.map((p) => p.version!);
    expect(versions.every((v) => v >= first && v <= version)).toBe(true);
    expect(versions).toEqual([...versions].sort((x, y) => x - y)); // in order: an older result never replaces a newer one
    expect(versions[versions.length - 1]).toBe(version);
    // The complete text's diagnostics: the new group is only unused.
    expect(final.map((d) => d.code)).toEqual(["FTI2008"]);
    await edit(ATHLETE);
  });
});
