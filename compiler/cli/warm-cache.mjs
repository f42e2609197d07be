#!/usr/bin/env node
// `npm install`'s postinstall: compiles a small spec once, in a temporary
// directory, so that V8's code cache of the TypeScript compiler (the checker's
// functions included) is written with the installation
// (node_modules/.cache/fti/v8/, compiler/code-cache.ts), and builds the
// compiler's bundle (node_modules/.cache/fti/bundle/, bundle.mjs). A project's
// first `fti compile` then loads TypeScript from the code cache instead of
// compiling 9 MB of JavaScript, and the compiler from one file instead of
// ~135 modules through tsx. Best effort: it never fails the install, and
// prints nothing unless FTI_DEBUG is set.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { register } from "tsx/esm/api";
import { buildBundle } from "./bundle.mjs";

const SPEC = `entity user {
  key user_id: string
}

source events {
  path "events.csv"
  event_time ts
  fields {
    user_id: string
    ts: timestamp
    amount: float check (> 0)
    planned: float check (> 0)
    score: float?
  }
}

extern fn half(x: float): float from "./warm.functions.ts"

feature_group rows for user from events {
  amt = half(amount)
  heavy = if amount > 100 then 1.0 else 0.0
}

feature_group win for user from rows {
  amt_7d = sum(amt) over 7d
  avg_30d = avg(amt) over 30d
  trend = ewma(amt) over 14d
}

on_demand gap(request planned: float, win.avg_30d): float = (planned - avg_30d) / avg_30d

view data for user {
  label amount = events.amount
  features win.*, gap
  ttl 60d
}

model m {
  view data
  task regression
  algorithm gbdt(trees: 10, depth: 3)
  transform amt_7d: standard_scale
  transform gap: clip(min: -1, max: 1)
  split random(test_fraction: 0.2, seed: 1)
  metric mae
}

serve m {
  online
}
`;

const projectCache = process.env.FTI_CACHE_DIR;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-warm-"));
try {
  fs.writeFileSync(path.join(dir, "warm.fti"), SPEC);
  fs.writeFileSync(path.join(dir, "warm.functions.ts"), "export function half(x: number): number {\n  return x / 2;\n}\n");
  process.env.FTI_CACHE_DIR = path.join(dir, "cache"); // the check results of this spec are of no use later
  register();
  const { compileSpec } = await import("../compile.ts");
  const result = await compileSpec(path.join(dir, "warm.fti"), { outDir: path.join(dir, "out") });
  if (process.env.FTI_DEBUG) console.error(`fti warm-cache: ${result.diagnostics.length} diagnostics`, result.diagnostics.map((d) => d.message));
} catch (e) {
  if (process.env.FTI_DEBUG) console.error("fti warm-cache:", e);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
if (projectCache === undefined) delete process.env.FTI_CACHE_DIR;
else process.env.FTI_CACHE_DIR = projectCache;
await buildBundle();
// V8's code cache is written at exit (compiler/code-cache.ts).
