// The built-ins table (compiler/builtins.ts) is the one place a built-in is
// defined: these checks keep each entry complete and truthful. That the SQL
// and TS lowerings of every entry agree is test/lower-property.test.ts.

import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { BUILTINS } from "../compiler/builtins.ts";
import type { IrExpr, IrType } from "../compiler/ir.ts";
import { exprToSql } from "../compiler/lower/sql.ts";
import { lowerTs } from "../compiler/lower/ts.ts";
import * as runtimeExpr from "../runtime/expr.ts";

/** A call of `name` on nullable columns of the types its parameters ask for (`c0`, `c1`, ...). */
function callOnColumns(name: string): IrExpr {
  const sig = BUILTINS[name];
  const n = sig.variadic ? sig.minArgs ?? sig.params.length : sig.params.length;
  const args: IrExpr[] = Array.from({ length: n }, (_, i) => {
    const kind = sig.params[Math.min(i, sig.params.length - 1)].kind;
    const base = kind === "numeric" || kind === "float" || kind === "same" || kind === "any" ? "float" : kind;
    return { k: "col", name: `c${i}`, type: { base, nullable: true } };
  });
  const type: IrType = sig.returns(args.map((a) => a.type));
  return { k: "builtin", name, args, type };
}

describe("the built-ins table", () => {
  const lowersToTs = Object.keys(BUILTINS).filter((name) => !BUILTINS[name].pipelineOnly);

  it.each(lowersToTs)("%s: its helpers exist, and its TS lowering calls no other helper", (name) => {
    const entry = BUILTINS[name];
    for (const h of entry.helpers) expect(typeof (runtimeExpr as Record<string, unknown>)[h], `runtime/expr.ts has no ${h}`).toBe("function");
    const e = callOnColumns(name);
    const lowered = lowerTs(e, { col: (c) => `row.${c}`, param: (p) => p, call: (f) => f });
    // fin and i64 finish any numeric result to its declared type, whatever the function.
    const allowed = new Set<string>([...entry.helpers, "fin", "i64"]);
    expect(lowered.helpers.filter((h) => !allowed.has(h))).toEqual([]);
    expect(exprToSql(e)).toContain('"c0"');
  });

  it("embed: computed by the feature pipeline only, its length literal is its type, lowered to the pipeline's fti_embed_<N>", () => {
    const text: IrExpr = { k: "col", name: "note", type: { base: "string", nullable: true } };
    const length: IrExpr = { k: "lit", value: 256, type: { base: "int", nullable: false } };
    const model: IrExpr = { k: "lit", value: "nomic-embed-text", type: { base: "string", nullable: false } };
    const entry = BUILTINS.embed;
    expect(entry.pipelineOnly).toBe(true);
    const checked = entry.literals!([text, length]);
    expect(checked).toMatchObject({ ok: true, returns: { base: "vector", dim: 256, nullable: true } });
    if (!checked.ok) return;
    expect(checked.args).toHaveLength(3); // the model filled in: null, the built-in hashing
    expect(exprToSql({ k: "builtin", name: "embed", args: checked.args, type: checked.returns })).toBe(`fti_embed_256("note", '')`);
    expect(exprToSql({ k: "builtin", name: "embed", args: [text, length, model], type: checked.returns })).toBe(`fti_embed_256("note", 'nomic-embed-text')`);
    expect(entry.literals!([text, { k: "col", name: "n", type: { base: "int", nullable: false } }])).toMatchObject({ ok: false, arg: 1, problem: { code: 3101 } });
    expect(entry.literals!([text, { ...length, value: 0 }])).toMatchObject({ ok: false, arg: 1, problem: { code: 3101 } });
    expect(entry.literals!([text, length, { ...model, value: " " }])).toMatchObject({ ok: false, arg: 2, problem: { code: 3004 } });
    expect(() => lowerTs({ k: "builtin", name: "embed", args: checked.args, type: checked.returns }, { col: (c) => c, param: (p) => p, call: (f) => f })).toThrow(/feature pipeline/);
  });

  it("docs/language.md lists every built-in", () => {
    const doc = fs.readFileSync("docs/language.md", "utf8");
    const missing = Object.keys(BUILTINS).filter((name) => !doc.includes(`| \`${name}(`) && !doc.includes(`, \`${name}(`));
    expect(missing).toEqual([]);
  });
});
