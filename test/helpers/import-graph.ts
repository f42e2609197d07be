// The project's module graph, read with the TypeScript parser (no type
// check): every static import and re-export, and every `import()` call, of
// each .ts/.mjs file under the given folders. Relative specifiers resolve to
// project files, `#name` ones through package.json "imports" (the "types"
// target for a type-only import, else the default one, as Node loads it);
// package specifiers are kept as they are ("@duckdb/node-api").
// test/layering.test.ts asserts the layering rules over it.

import fs from "node:fs";
import path from "node:path";
import ts from "typescript";

export interface ImportEdge {
  from: string;
  /** A project path relative to the root ("runtime/api.ts"), or a package specifier. */
  to: string;
  typeOnly: boolean;
  dynamic: boolean;
}

export interface ModuleGraph {
  files: string[];
  edges: ImportEdge[];
  /** `import(x)` calls whose argument is not a string literal: invisible to this graph and to tsc. */
  nonLiteral: Array<{ file: string; line: number }>;
}

function listFiles(root: string, dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = path.posix.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== "node_modules" && !e.name.startsWith(".")) out.push(...listFiles(root, rel));
    } else if (/\.(ts|mjs)$/.test(e.name) && !e.name.endsWith(".d.ts")) out.push(rel);
  }
  return out;
}

type SubpathImports = Record<string, string | { types?: string; default?: string }>;

function resolveSpecifier(from: string, spec: string, imports: SubpathImports, typeOnly: boolean): string {
  if (spec.startsWith("#")) {
    const target = imports[spec];
    const file = typeof target === "string" ? target : typeOnly ? (target?.types ?? target?.default) : target?.default;
    return file ? path.posix.normalize(file) : spec;
  }
  if (!spec.startsWith(".")) return spec;
  return path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
}

function importsOf(root: string, file: string, imports: SubpathImports): { edges: ImportEdge[]; nonLiteral: number[] } {
  const text = fs.readFileSync(path.join(root, file), "utf8");
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const edges: ImportEdge[] = [];
  const nonLiteral: number[] = [];
  const add = (spec: string, typeOnly: boolean, dynamic: boolean) =>
    edges.push({ from: file, to: resolveSpecifier(file, spec, imports, typeOnly), typeOnly, dynamic });
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly =
        !!clause &&
        (clause.isTypeOnly ||
          (!clause.name &&
            !!clause.namedBindings &&
            ts.isNamedImports(clause.namedBindings) &&
            clause.namedBindings.elements.length > 0 &&
            clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier.text, typeOnly, false);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.exportClause;
      const typeOnly =
        node.isTypeOnly || (!!clause && ts.isNamedExports(clause) && clause.elements.length > 0 && clause.elements.every((e) => e.isTypeOnly));
      add(node.moduleSpecifier.text, typeOnly, false);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg && ts.isStringLiteralLike(arg)) add(arg.text, false, true);
      else nonLiteral.push(sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node.argument.literal.text, true, false);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return { edges, nonLiteral };
}

/** The graph of every module under `dirs` (paths relative to `root`). */
export function moduleGraph(root: string, dirs: string[]): ModuleGraph {
  const files = dirs.flatMap((d) => listFiles(root, d)).sort();
  const graph: ModuleGraph = { files, edges: [], nonLiteral: [] };
  const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { imports?: SubpathImports };
  for (const f of files) {
    const { edges, nonLiteral } = importsOf(root, f, pkg.imports ?? {});
    graph.edges.push(...edges);
    for (const line of nonLiteral) graph.nonLiteral.push({ file: f, line });
  }
  return graph;
}

/** Every cycle's nodes (strongly connected components of more than one node, or a node importing itself). */
export function cycles(nodes: string[], edges: Array<[string, string]>): string[][] {
  const next = new Map<string, string[]>(nodes.map((n) => [n, []]));
  for (const [a, b] of edges) if (next.has(a) && next.has(b)) next.get(a)!.push(b);
  // Tarjan's algorithm, iterative so deep graphs cannot overflow the stack.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const found: string[][] = [];
  let counter = 0;
  for (const start of nodes) {
    if (index.has(start)) continue;
    const work: Array<{ node: string; i: number }> = [{ node: start, i: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length) {
      const top = work[work.length - 1];
      const succ = next.get(top.node)!;
      if (top.i < succ.length) {
        const w = succ[top.i++];
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          work.push({ node: w, i: 0 });
        } else if (onStack.has(w)) low.set(top.node, Math.min(low.get(top.node)!, index.get(w)!));
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1].node;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.node)!));
      }
      if (low.get(top.node) === index.get(top.node)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          component.push(w);
        } while (w !== top.node);
        if (component.length > 1 || succ.includes(top.node)) found.push(component.sort());
      }
    }
  }
  return found;
}

/** Everything `start` reaches through the graph's edges that pass `follow` (default: all). */
export function reachable(graph: ModuleGraph, start: string, follow: (e: ImportEdge) => boolean = () => true): Set<string> {
  const seen = new Set<string>([start]);
  const queue = [start];
  while (queue.length) {
    const f = queue.pop()!;
    for (const e of graph.edges) {
      if (e.from === f && !seen.has(e.to) && follow(e)) {
        seen.add(e.to);
        queue.push(e.to);
      }
    }
  }
  return seen;
}
