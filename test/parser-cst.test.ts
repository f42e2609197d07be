// compiler/parser/cst.ts (the CST node types to-ast.ts is checked against) is
// generated from the grammar; a grammar change must regenerate it.

import fs from "node:fs";
import { expect, it } from "vitest";
import { cstTypes } from "../compiler/parser/gen-cst.ts";

it("compiler/parser/cst.ts matches the grammar (regenerate: npx tsx compiler/parser/gen-cst.ts > compiler/parser/cst.ts)", async () => {
  expect(fs.readFileSync("compiler/parser/cst.ts", "utf8")).toBe(await cstTypes());
});
