// Prints the CST node types of the grammar (chevrotain's generateCstDts), the
// text of cst.ts: `npx tsx compiler/parser/gen-cst.ts > compiler/parser/cst.ts`.
// test/parser-cst.test.ts fails when cst.ts is stale (a grammar change).

import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { generateCstDts as Generate } from "chevrotain";
import { getParser } from "./grammar.ts";

const HEADER = `// Generated from the grammar by compiler/parser/gen-cst.ts (chevrotain's generateCstDts): the
// CST node types the CST → AST pass reads (to-ast.ts and the readers it extends), so every child key it uses is checked by tsc.
// Regenerate after a grammar change: npx tsx compiler/parser/gen-cst.ts > compiler/parser/cst.ts
`;

/** cst.ts as the grammar implies it. */
export async function cstTypes(): Promise<string> {
  // The same chevrotain bundle the parser is built with (./chevrotain.ts): its grammar classes.
  const entry = createRequire(import.meta.url).resolve("chevrotain");
  const bundle = (await import(pathToFileURL(path.join(path.dirname(entry), "..", "chevrotain.mjs")).href)) as { generateCstDts: typeof Generate };
  const parser = getParser() as unknown as { getGAstProductions(): Parameters<typeof Generate>[0] };
  return HEADER + "\n" + bundle.generateCstDts(parser.getGAstProductions(), { includeVisitorInterface: false });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) process.stdout.write(await cstTypes());
