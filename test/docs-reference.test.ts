// What the docs say that a test can read, beside their fti blocks
// (test/docs-examples.test.ts): every `fti <command> --flag` README.md,
// docs/*.md and the folders' CONTEXT.md files show is a flag that command's
// --help lists, and every command and flag of --help is shown; every FTI_
// variable they name is read somewhere; §2's keyword list is the lexer's;
// §3.5's aggregation table is the checker's; §9's output formats are what fti
// prints; §10 lists every generated module; an example spec a command names exists and declares the
// model, view or index it is given.

import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { describe, expect, it, vi } from "vitest";
import { checkWindowAggArgs, t, WINDOW_AGGS } from "../compiler/builtin-check.ts";
import { buildProgram } from "../compiler/cli/main.ts";
import { compileSpec } from "../compiler/compile.ts";
import { formatDiagnostics } from "../compiler/diagnostics.ts";
import type { ScalarType } from "../compiler/ir.ts";
import { KEYWORDS } from "../compiler/parser/lexer.ts";

// docs/benchmarks.md is the log of earlier sessions: it quotes commands as they were then.
const DOCS = ["README.md", ...fs.readdirSync("docs").filter((f) => f.endsWith(".md") && f !== "benchmarks.md").map((f) => `docs/${f}`)];
/** The folders' CONTEXT.md and README.md files: their commands and variables are checked too (they hold no fti blocks). */
const CONTEXTS = ["bench", "compiler", "runtime", "specs", "test", "editors"].flatMap(function contexts(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.isDirectory()) return e.name.startsWith(".") || e.name === "node_modules" || e.name === "data" ? [] : contexts(path.join(dir, e.name));
    return e.name === "CONTEXT.md" || e.name === "README.md" ? [path.join(dir, e.name)] : [];
  });
});
const flagsOf = (words: string[]) =>
  words
    .flatMap((w) => w.replace(/^[[(]+/, "").split("/")) // `[--at T]`: an optional flag is a flag too
    .filter((w) => /^--[a-z]/.test(w))
    .map((w) => w.split("=")[0].replace(/[^a-z0-9-]+$/, ""));

/**
 * Each command line the docs show: a line of a shell (or untagged) block, or a
 * code span, that starts with `fti <command>` (after `$ ` or `npx `); its
 * sub-command, and the flags it is shown with (`--llm-url/--llm-api-key` is two);
 * and the `--flag` spans of a list item that starts with `fti <command>`.
 */
function shownCommands(file: string): Array<{ where: string; command: string[]; flags: string[]; words?: string[] }> {
  const lines = fs.readFileSync(file, "utf8").split("\n");
  const shown: Array<{ where: string; command: string[]; flags: string[]; words?: string[] }> = [];
  let fence: string | undefined;
  let item: string[] | undefined; // the command of the list item being read
  lines.forEach((line, i) => {
    const f = /^\s*(`{3,})(\S*)/.exec(line);
    if (f) {
      fence = fence === undefined ? f[2] || "text" : undefined;
      return;
    }
    if (fence === "fti" || fence === "ebnf" || fence === "json" || fence === "ts") return;
    if (!fence && !/^ {2}\S/.test(line)) item = /^- `fti /.test(line) ? [] : undefined;
    const pieces = fence ? [line.trim()] : [...line.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    for (const piece of pieces) {
      const m = /^(?:\$ )?(?:npx )?fti ([a-z][a-z-]*)(.*)$/.exec(piece);
      // In a list item about a command, a `--flag` span is that command's.
      if (!m && item?.length && /^--[a-z]/.test(piece)) shown.push({ where: `${file}:${i + 1}`, command: item, flags: flagsOf(piece.split(/\s+/)) });
      if (!m) continue;
      const words = m[2].replace(/\s(#|\||&&|;|>).*$/, "").trim().split(/\s+/).filter(Boolean);
      const sub = /^[a-z][a-z-]*$/.test(words[0] ?? "") ? [words[0]] : [];
      shown.push({ where: `${file}:${i + 1}`, command: [m[1], ...sub], flags: flagsOf(words), words });
      if (item) item = [m[1], ...sub];
    }
  });
  return shown;
}

/** The sub-command that runs when none is named (`models` → `list`); commander does not export it. */
const defaultSubcommand = (cmd: Command) => (cmd as unknown as { _defaultCommandName?: string })._defaultCommandName;

describe("the fti commands the docs show", () => {
  const files = [...DOCS, ...CONTEXTS];
  const shown = files.flatMap(shownCommands);

  it("name example specs that exist, and a model, view or index each spec declares", () => {
    // `fti train specs/athlete.fti time_estimator`: a renamed spec or model leaves a command that exits 1 or 2.
    const kinds: Record<string, string> = { train: "model", predict: "model", verify: "model", monitor: "model", register: "model", "training-data": "view", search: "index" };
    const wrong: string[] = [];
    let checked = 0;
    for (const s of shown) {
      const spec = s.words?.find((w) => /^specs\/[a-z_]+\.fti$/.test(w));
      if (!spec) continue;
      if (!fs.existsSync(spec)) {
        wrong.push(`${s.where}: ${spec} does not exist`);
        continue;
      }
      const kind = kinds[s.command[0]];
      const name = s.words![s.words!.indexOf(spec) + 1];
      if (!kind || !name || !/^[a-z_][a-z0-9_]*$/.test(name)) continue;
      checked++;
      if (!new RegExp(`^${kind}\\s+${name}\\b`, "m").test(fs.readFileSync(spec, "utf8"))) wrong.push(`${s.where}: ${spec} declares no ${kind} \`${name}\``);
    }
    expect(checked).toBeGreaterThan(10);
    expect(wrong).toEqual([]);
  });

  it("exist, and each flag shown with one is in its --help", async () => {
    const program = await buildProgram(() => {});
    expect(shown.filter((s) => s.flags.length).length).toBeGreaterThan(20);
    const wrong: string[] = [];
    for (const s of shown) {
      let cmd = program.commands.find((c) => c.name() === s.command[0]);
      if (!cmd) {
        wrong.push(`${s.where}: no command \`fti ${s.command[0]}\``);
        continue;
      }
      // `fti models --json` runs `models list`, the default sub-command.
      const name = s.command[1] ?? defaultSubcommand(cmd);
      const sub = cmd.commands.find((c) => c.name() === name);
      if (sub) cmd = sub;
      else if (cmd.commands.length && s.command[1]) wrong.push(`${s.where}: no command \`fti ${s.command.join(" ")}\``);
      const help = cmd.helpInformation();
      for (const flag of s.flags) if (!new RegExp(`${flag}\\b(?!-)`).test(help)) wrong.push(`${s.where}: \`fti ${cmd.name()}\` has no ${flag}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe("the fti commands the docs name", () => {
  it("are every command and every flag of `fti --help` (a new one is documented with it)", async () => {
    const text = DOCS.map((f) => fs.readFileSync(f, "utf8")).join("\n");
    const program = await buildProgram(() => {});
    const missing: string[] = [];
    const walk = (cmd: Command, prefix: string) => {
      for (const c of cmd.commands) {
        const name = `${prefix}${c.name()}`;
        // A default sub-command (`models list`) is documented as its parent (`fti models`).
        if (!text.includes(`fti ${name}`) && defaultSubcommand(cmd) !== c.name()) missing.push(`fti ${name}`);
        for (const o of c.options) if (!o.hidden && o.long && !text.includes(o.long)) missing.push(`fti ${name} ${o.long}`);
        walk(c, `${name} `);
      }
    };
    walk(program, "");
    expect(missing).toEqual([]);
  });
});

/** The .ts and .mjs files under `dir`, not in dot folders (bench/.data) or generated data. */
function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name.startsWith(".") || e.name === "data" ? [] : sourceFiles(p);
    return /\.(ts|mjs)$/.test(e.name) ? [p] : [];
  });
}

describe("the environment variables the docs name", () => {
  it("are each read by fti's code or its tests (compiler/, runtime/, specs/, bench/, test/)", () => {
    const files = [...DOCS, ...CONTEXTS];
    const named = new Set(files.flatMap((f) => [...fs.readFileSync(f, "utf8").matchAll(/\bFTI_[A-Z0-9_]*[A-Z0-9]\b/g)].map((m) => m[0])));
    const code = ["compiler", "runtime", "specs", "bench", "test"]
      .flatMap(sourceFiles)
      .map((f) => fs.readFileSync(f, "utf8"))
      .join("\n");
    expect(named.size).toBeGreaterThan(20);
    expect([...named].filter((v) => !code.includes(v))).toEqual([]);
  });
});

describe("the keywords of docs/language.md §2", () => {
  const doc = fs.readFileSync("docs/language.md", "utf8");
  const section = doc.slice(doc.indexOf("**Keywords** are reserved"));

  it("are the lexer's reserved words, all of them", () => {
    const listed = /\n```\n([\s\S]*?)\n```/.exec(section)![1].split(/\s+/);
    expect(listed.sort()).toEqual([...KEYWORDS.keys()].sort());
  });

  it("and the words it says are not keywords are not", () => {
    const sentence = /Words such as ([\s\S]*?) are \*not\* keywords/.exec(section)![1];
    const words = [...sentence.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]);
    expect(words.length).toBeGreaterThan(10);
    expect(words.filter((w) => KEYWORDS.has(w))).toEqual([]);
  });
});

describe("the windowed aggregations table of docs/language.md §3.5", () => {
  const doc = fs.readFileSync("docs/language.md", "utf8");
  const table = doc.slice(doc.indexOf("| aggregation | argument | result |")).split("\n\n")[0].split("\n").slice(2);
  const rows = table.map((l) => l.trim().split("|").slice(1, -1).map((c) => c.trim()));
  const VALUES: ScalarType[] = ["int", "float", "string", "timestamp", "bool"];

  it("names every aggregation the checker knows, each once", () => {
    const names = rows.flatMap(([agg]) => [...agg.matchAll(/`([a-z]+)\(/g)].map((m) => m[1]));
    expect([...new Set(names)].sort()).toEqual(Object.keys(WINDOW_AGGS).sort());
  });

  it("gives each the arguments it takes and refuses, and its result type", () => {
    for (const [aggCell, argCell, resultCell] of rows) {
      const takes = argCell === "—" ? [] : argCell === "any value" ? VALUES : [...argCell.matchAll(/`([a-z]+)`/g)].map((m) => m[1] as ScalarType);
      for (const [, name, arg] of aggCell.matchAll(/`([a-z]+)\((x?)\)`/g)) {
        const where = `${name}(${arg}) in the table`;
        if (!arg) {
          const r = checkWindowAggArgs(name, []);
          expect(r.ok && r.returns, where).toEqual(expectedResult(resultCell, undefined));
          continue;
        }
        for (const base of VALUES) {
          const r = checkWindowAggArgs(name, [t(base, false)]);
          expect(r.ok, `${where} with a ${base}`).toBe(takes.includes(base));
          if (r.ok) expect(r.returns, `${where} with a ${base}`).toEqual(expectedResult(resultCell, base));
        }
      }
    }
  });
});

/** A result cell of the aggregations table, read for an argument of type `arg`. */
function expectedResult(cell: string, arg: ScalarType | undefined): unknown {
  if (cell === "the argument's type, nullable") return t(arg!, true);
  if (cell === "`int?` for an int argument, else `float?`") return t(arg === "int" ? "int" : "float", true);
  const never = /^`([a-z]+)` \(never null\)$/.exec(cell);
  if (never) return t(never[1] as ScalarType, false);
  const nullable = /^`([a-z]+)\?`$/.exec(cell);
  if (nullable) return t(nullable[1] as ScalarType, true);
  throw new Error(`the aggregations table's result \`${cell}\` is not one this test reads`);
}

describe("docs/language.md §10", () => {
  it("lists every module fti compile generates (generated/athlete/ is the committed output, test/generated.test.ts)", () => {
    const doc = fs.readFileSync("docs/language.md", "utf8");
    const section = doc.slice(doc.indexOf("## 10. Generated code"));
    const listed = [...section.matchAll(/^\| `([a-z]+\.ts)` \|/gm)].map((m) => m[1]);
    expect(listed.sort()).toEqual(fs.readdirSync("generated/athlete").filter((f) => f.endsWith(".ts")).sort());
  });
});

describe("the diagnostic formats of docs/language.md §9", () => {
  const doc = fs.readFileSync("docs/language.md", "utf8");
  const FIXTURE = "test/fixtures/diagnostics/FTI2002-unknown-name.fti";

  it("§9.1: the text format shown is what fti prints for its fixture", async () => {
    const shown = /### 9\.1 Format[\s\S]*?\n```\n([\s\S]*?)```/.exec(doc)![1];
    const result = await compileSpec(FIXTURE, { checkOnly: true });
    expect(formatDiagnostics(result.diagnostics, result.sources)).toBe(shown);
  });

  it("§9.3: the --json output shown is what `fti check --json` prints for its fixture", async () => {
    const shown = JSON.parse(/### 9\.3 `--json`[\s\S]*?```json\n([\s\S]*?)```/.exec(doc)![1]);
    let printed = "";
    const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => ((printed += String(chunk)), true));
    try {
      const program = await buildProgram(() => {});
      await program.parseAsync(["node", "fti", "check", "--json", FIXTURE]);
    } finally {
      write.mockRestore();
    }
    expect(JSON.parse(printed)).toEqual(shown);
  });
});
