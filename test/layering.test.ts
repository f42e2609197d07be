// The layering of the code, asserted over the module graph (test/helpers/import-graph.ts):
//
//   compiler/cli/   the `fti` command: the composition root, the only place that imports both
//     ├── compiler/   spec → generated code; never loads the runtime's engines (DuckDB, ONNX, Fastify)
//     └── runtime/    executes generated code; never imports compiler/
//
// and inside the runtime, no module — and no folder — depends on itself through others.
// Between folders, type-only imports count too, except through runtime/api.ts: the public
// API re-exports the online client's wire types (online/public.ts), which are written in
// its plan types. (Two modules of one folder may share types both ways.)

import { describe, expect, it } from "vitest";
import { cycles, moduleGraph, reachable, type ImportEdge } from "./helpers/import-graph.ts";

const graph = moduleGraph(process.cwd(), ["compiler", "runtime"]);
const inRuntime = (f: string) => f.startsWith("runtime/");
const runtimeFiles = graph.files.filter(inRuntime);
const runtimeEdges = graph.edges.filter((e) => inRuntime(e.from) && inRuntime(e.to));

/** runtime/<folder> for files in a folder; runtime/<file> for the files at its root. */
const folderOf = (f: string) => f.split("/").slice(0, 2).join("/");
const show = (edges: ImportEdge[]) => edges.map((e) => `${e.from} → ${e.to}`);

describe("the module graph", () => {
  it("is read: it sees the runtime's modules and their imports", () => {
    // Guards the rules below against an empty graph (a moved folder, a parser change).
    expect(runtimeFiles).toContain("runtime/api.ts");
    expect(runtimeEdges.some((e) => e.from === "runtime/api.ts" && e.to === "runtime/expr.ts")).toBe(true);
    expect(graph.edges.some((e) => e.from === "compiler/cli/main.ts" && e.to.startsWith("runtime/"))).toBe(true);
  });

  it("finds a cycle when there is one (the checker of the rules below works)", () => {
    expect(cycles(["a", "b", "c"], [["a", "b"], ["b", "c"], ["c", "a"]])).toEqual([["a", "b", "c"]]);
    expect(cycles(["a", "b", "c"], [["a", "b"], ["b", "c"], ["a", "c"]])).toEqual([]);
    expect(cycles(["a"], [["a", "a"]])).toEqual([["a"]]);
  });
});

describe("layering", () => {
  it("runtime/ never imports compiler/", () => {
    expect(show(graph.edges.filter((e) => inRuntime(e.from) && e.to.startsWith("compiler/")))).toEqual([]);
  });

  it("only the CLI (compiler/cli/) imports compiler/cli/", () => {
    const inCli = (f: string) => f.startsWith("compiler/cli/");
    expect(show(graph.edges.filter((e) => inCli(e.to) && !inCli(e.from)))).toEqual([]);
  });

  it("the compiler below the CLI never loads DuckDB, onnxruntime or Fastify, not even through the runtime", () => {
    // What importing a module loads: its static value imports, transitively (a type-only import
    // loads nothing; a lazy import() loads only when called, and no compiler path calls one).
    const engines = ["@duckdb/node-api", "onnxruntime-node", "fastify"];
    const loads = (e: ImportEdge) => !e.typeOnly && !e.dynamic;
    const leaks: string[] = [];
    for (const f of graph.files.filter((f) => f.startsWith("compiler/") && !f.startsWith("compiler/cli/"))) {
      const seen = reachable(graph, f, loads);
      for (const p of engines) if (seen.has(p)) leaks.push(`${f} reaches ${p}`);
    }
    expect(leaks).toEqual([]);
  });

  it("every dynamic import in runtime/ names its module literally (so tsc and this graph see it)", () => {
    expect(graph.nonLiteral.filter((n) => inRuntime(n.file))).toEqual([]);
  });
});

const API = "runtime/api.ts";
const valueEdges = runtimeEdges.filter((e) => !e.typeOnly);
const withoutApi = runtimeEdges.filter((e) => e.from !== API && e.to !== API);
const folderCycles = (edges: ImportEdge[], nodes: string[]) =>
  cycles(nodes, edges.map((e): [string, string] => [folderOf(e.from), folderOf(e.to)]).filter(([a, b]) => a !== b));

describe("the runtime has no cycles", () => {
  it("between modules, in what loads at run time", () => {
    expect(cycles(runtimeFiles, valueEdges.map((e) => [e.from, e.to]))).toEqual([]);
  });

  it("between folders (training, inference, online, … each one node)", () => {
    const folders = [...new Set(runtimeFiles.map(folderOf))];
    expect(folderCycles(valueEdges, folders)).toEqual([]);
  });

  it("between folders, type-only imports included, except through api.ts", () => {
    const folders = [...new Set(runtimeFiles.map(folderOf))].filter((f) => f !== API);
    expect(folderCycles(withoutApi, folders)).toEqual([]);
  });
});
