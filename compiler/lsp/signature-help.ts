// Signature help: inside the parentheses of a call, the callee's signature
// with the parameter being typed highlighted — a spec's fn or extern fn
// (with its doc comment), a built-in function, a windowed aggregation, and
// an algorithm's hyperparameters in `algorithm gbdt(…)` (named: the one
// being typed, or the first not yet given). Found from the tokens before the
// cursor, so it works on the half-typed text it is asked about.

import type { IToken } from "chevrotain";
import type { ParameterInformation, SignatureHelp, SignatureInformation } from "vscode-languageserver";
import { BUILTINS, WINDOW_AGGS } from "../builtins.ts";
import { ALGORITHMS, type BuiltinAlgorithm } from "../../runtime/catalogue.ts";
import * as T from "../parser/lexer.ts";
import type { Analysis } from "./analysis.ts";
import { docAt } from "./docs.ts";

/** The unclosed `(` before `offset` (its token index), and the index of the argument the cursor is in. */
function openCall(tokens: IToken[], offset: number): { paren: number; arg: number } | undefined {
  let depth = 0;
  let arg = 0;
  let i = tokens.length - 1;
  while (i >= 0 && tokens[i].startOffset >= offset) i--;
  for (; i >= 0; i--) {
    const t = tokens[i].tokenType;
    // A call does not span a block: a `{` or `}` before the cursor ends the search.
    if (t === T.LCurly || t === T.RCurly) return undefined;
    if (t === T.RParen || t === T.RBracket) depth++;
    else if (t === T.LParen || t === T.LBracket) {
      if (depth === 0) return t === T.LParen ? { paren: i, arg } : undefined;
      depth--;
    } else if (t === T.Comma && depth === 0) arg++;
  }
  return undefined;
}

/** A signature whose parameters are given as the labels' substrings (the client highlights them). */
function signature(name: string, params: string[], tail: string, documentation?: string): SignatureInformation {
  let label = `${name}(`;
  const parameters: ParameterInformation[] = params.map((p, i) => {
    if (i) label += ", ";
    const start = label.length;
    label += p;
    return { label: [start, label.length] };
  });
  label += `)${tail}`;
  return { label, parameters, ...(documentation ? { documentation: { kind: "markdown", value: documentation } } : {}) };
}

const typeText = (t: { name: string; nullable: boolean }) => t.name + (t.nullable ? "?" : "");

function callSignature(a: Analysis, name: string): { sig: SignatureInformation; variadic?: boolean } | undefined {
  const decl = a.index.decls.get(name);
  if (decl?.kind === "fn" || decl?.kind === "extern_fn") {
    // An imported fn's doc comment is in its own file: only this spec's are read.
    const doc = a.imports.has(name) ? `Imported from \`${a.imports.get(name)!.from}\`` : docAt(a, decl.name.range.start.line);
    return { sig: signature(name, decl.params.map((p) => `${p.name.name}: ${typeText(p.type)}`), `: ${typeText(decl.returnType)}`, doc) };
  }
  const b = BUILTINS[name];
  if (b) {
    const params = b.params.map((p) => `${p.name}${p.optional ? "?" : ""}: ${p.kind}`);
    return { sig: signature(name, b.variadic ? [...params, "…"] : params, "", b.doc), variadic: b.variadic };
  }
  const w = WINDOW_AGGS[name as keyof typeof WINDOW_AGGS];
  if (w) return { sig: signature(name, w.maxArgs ? [w.minArgs ? "x" : "[x]"] : [], " over <duration>", `windowed aggregation: ${w.doc}`) };
  return undefined;
}

/** `algorithm gbdt(trees: 100, |`: the hyperparameters, the active one by name. */
function hyperparameterHelp(tokens: IToken[], paren: number, offset: number): SignatureHelp | undefined {
  const alg = tokens[paren - 1]?.image;
  if (tokens[paren - 2]?.image !== "algorithm" || !alg || !Object.hasOwn(ALGORITHMS, alg)) return undefined;
  const params = Object.entries(ALGORITHMS[alg as BuiltinAlgorithm].params as Record<string, { type: string; default: number; min: number; max: number }>);
  const sig = signature(alg, params.map(([n, h]) => `${n}: ${h.type} = ${h.default}`), "", `hyperparameters of \`${alg}\` (named; each optional)`);
  const inside = tokens.slice(paren + 1).filter((t) => t.startOffset < offset);
  const given = new Set(inside.filter((t, i) => inside[i + 1]?.tokenType === T.Colon).map((t) => t.image));
  // The name of the argument being typed: the identifier after the last `(` or `,`.
  let k = inside.length - 1;
  while (k >= 0 && inside[k].tokenType !== T.Comma) k--;
  const current = inside[k + 1]?.tokenType === T.Identifier ? inside[k + 1].image : undefined;
  let active = params.findIndex(([n]) => n === current);
  if (active < 0) active = params.findIndex(([n]) => !given.has(n));
  return { signatures: [sig], activeSignature: 0, activeParameter: Math.max(0, active) };
}

export function signatureHelp(a: Analysis, offset: number): SignatureHelp | null {
  const call = openCall(a.tokens, offset);
  if (!call) return null;
  const callee = a.tokens[call.paren - 1];
  const hyper = hyperparameterHelp(a.tokens, call.paren, offset);
  if (hyper) return hyper;
  if (!callee || callee.tokenType !== T.Identifier) return null;
  const found = callSignature(a, callee.image);
  if (!found) return null;
  const { sig, variadic } = found;
  const count = sig.parameters?.length ?? 0;
  // Past the last named parameter of a variadic built-in, the last one stays highlighted (not the `…`).
  const active = variadic && call.arg >= count - 1 ? count - 2 : call.arg;
  return { signatures: [sig], activeSignature: 0, activeParameter: Math.min(Math.max(0, active), Math.max(0, count - 1)) };
}
