// The VS Code extension without VS Code: its grammar is the one generated
// from the compiler's tables, tokenizes every example spec as the committed
// snapshots say (vscode-textmate + vscode-oniguruma, what VS Code runs), and
// the client finds the workspace's fti.

import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { grammarText } from "../editors/vscode/scripts/grammar.mts";
import { tokenSnapshot } from "./helpers/textmate.ts";

const require = createRequire(import.meta.url);
const { serverCommand } = require("../editors/vscode/src/server-command.js") as {
  serverCommand: (folder: string | undefined, configured: string | undefined, node: string) => { command: string; args: string[]; options: { cwd: string } } | undefined;
};

const specs = fs.readdirSync("specs").filter((f) => f.endsWith(".fti"));
const snapshot = (spec: string) => path.join("test/fixtures/grammar", `${spec}.tokens`);

describe("editors/vscode", () => {
  it("the committed grammar is the one built from the compiler's keywords and built-ins", () => {
    const stale = "editors/vscode/syntaxes/fti.tmLanguage.json is stale (a keyword or built-in changed): run `npx tsx editors/vscode/scripts/grammar.mts --write` and commit it";
    expect(fs.readFileSync("editors/vscode/syntaxes/fti.tmLanguage.json", "utf8"), stale).toBe(grammarText());
  });

  it.each(specs)("%s tokenizes as its snapshot", async (spec) => {
    const tokens = await tokenSnapshot(fs.readFileSync(path.join("specs", spec), "utf8"));
    if (process.env.FTI_UPDATE_SNAPSHOTS === "1" && !process.env.CI) fs.writeFileSync(snapshot(spec), tokens);
    expect(tokens).toBe(fs.readFileSync(snapshot(spec), "utf8"));
  });

  it("classifies the constructs an editor colours", async () => {
    const t = await tokenSnapshot('model m { algorithm gbdt(trees: 5) } // c\nfn f(x: float?): bool = if x > 1d then true else coalesce(x, 2) in (1) and g.h\n"a\\n\\q" 2025-06-01 1.5e3 /* b */');
    const scopeOf = (text: string) => t.split("\n").find((l) => l.split(" ")[1] === text)?.split("  ")[1];
    expect(scopeOf("model")).toBe("storage.type.declaration.fti");
    expect(scopeOf("m")).toBe("entity.name.type.fti");
    expect(scopeOf("algorithm")).toBe("keyword.other.fti");
    expect(scopeOf("gbdt")).toBe("entity.name.function.fti");
    expect(scopeOf("//")).toBe("comment.line.double-slash.fti");
    expect(scopeOf("float?")).toBe("support.type.fti");
    expect(scopeOf("if")).toBe("keyword.control.fti");
    expect(scopeOf("1d")).toBe("constant.numeric.duration.fti");
    expect(scopeOf("true")).toBe("constant.language.fti");
    expect(scopeOf("coalesce")).toBe("support.function.builtin.fti");
    expect(scopeOf("and")).toBe("keyword.operator.logical.fti");
    expect(scopeOf("h")).toBe("variable.other.member.fti");
    expect(scopeOf("\\n")).toBe("string.quoted.double.fti constant.character.escape.fti");
    expect(scopeOf("\\q")).toBe("string.quoted.double.fti invalid.illegal.escape.fti");
    expect(scopeOf("2025-06-01")).toBe("constant.numeric.date.fti");
    expect(scopeOf("1.5e3")).toBe("constant.numeric.fti");
  });

  it("starts the workspace's installed fti, else the fti repository itself, else nothing", () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), "fti-ws-"));
    expect(serverCommand(ws, undefined, "node")).toBeUndefined();
    const pkg = path.join(ws, "node_modules", "fti");
    fs.mkdirSync(path.join(pkg, "compiler", "cli"), { recursive: true });
    fs.writeFileSync(path.join(pkg, "package.json"), JSON.stringify({ name: "fti", bin: { fti: "./compiler/cli/bin.mjs" } }));
    fs.writeFileSync(path.join(pkg, "compiler", "cli", "bin.mjs"), "");
    expect(serverCommand(ws, undefined, "/usr/bin/node")).toEqual({ command: "/usr/bin/node", args: [path.join(pkg, "compiler/cli/bin.mjs"), "lsp", "--stdio"], options: { cwd: ws } });
    const repo = path.resolve(".");
    expect(serverCommand(repo, undefined, "node")?.args[0]).toBe(path.join(repo, "compiler/cli/bin.mjs"));
    expect(serverCommand(ws, "nope.mjs", "node")).toBeUndefined();
    fs.writeFileSync(path.join(pkg, "package.json"), JSON.stringify({ name: "not-fti", bin: "./compiler/cli/bin.mjs" }));
    expect(serverCommand(ws, undefined, "node")).toBeUndefined();
  });

  it("the manifest declares the language, the grammar and the client entry", () => {
    const manifest = JSON.parse(fs.readFileSync("editors/vscode/package.json", "utf8"));
    expect(manifest.contributes.languages[0]).toMatchObject({ id: "fti", extensions: [".fti"], configuration: "./language-configuration.json" });
    expect(manifest.contributes.grammars[0]).toMatchObject({ language: "fti", scopeName: "source.fti" });
    for (const file of [manifest.main, manifest.contributes.grammars[0].path, manifest.contributes.languages[0].configuration]) expect(fs.existsSync(path.join("editors/vscode", file))).toBe(true);
    const config = JSON.parse(fs.readFileSync("editors/vscode/language-configuration.json", "utf8"));
    expect(config.comments).toEqual({ lineComment: "//", blockComment: ["/*", "*/"] });
  });
});
