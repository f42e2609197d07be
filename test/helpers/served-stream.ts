// A spec with a stream source, served: written under .fti/ with its data
// files, compiled, its feature pipeline run, one model trained, its groups
// materialised; `start()` starts `fti serve`'s server on a free port (again
// after a close: a restart).

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { loadCompiledSpec } from "../../compiler/cli/load.ts";
import type { SpecBundle } from "../../runtime/api.ts";
import { runFeaturePipeline } from "../../runtime/features/pipeline.ts";
import { startServer, type RunningServer, type ServeOptions } from "../../runtime/online/http.ts";
import { materialize } from "../../runtime/online/materialize.ts";
import type { Store } from "../../runtime/store/store.ts";
import { trainModelFromSpec } from "../../runtime/training/train.ts";
import { REPO } from "./online-athlete.ts";
import { storeUser } from "./store-user.ts";

export interface ServedStream {
  root: string;
  bundle: SpecBundle;
  storePath: string;
  withStore<T>(fn: (store: Store) => Promise<T>): Promise<T>;
  /** `fti serve` on a free port; `opts` adds to its options (e.g. a Redis transport). */
  start(opts?: ServeOptions): Promise<RunningServer>;
  cleanup(): void;
}

/** A small regression model of `view`, served online (the spec text). */
export function servedModel(model: string, view: string): string {
  return `
model ${model} {
  view ${view}
  task regression
  algorithm gbdt(trees: 5, depth: 2, min_leaf: 5)
  split random(test_fraction: 0.2, seed: 1)
}

serve ${model} { online }
`;
}

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

/** `files`: data files by path relative to the spec. */
export async function servedStreamSpec(name: string, spec: string, files: Record<string, string>, model: string): Promise<ServedStream> {
  const root = join(REPO, ".fti", `${name}-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, "spec.fti"), spec);
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, f)), { recursive: true });
    writeFileSync(join(root, f), text);
  }
  const bundle = await loadCompiledSpec(join(root, "spec.fti"), { outDir: join(root, "generated/spec"), quiet: true });
  const storePath = join(root, "store.duckdb");
  const withStore = storeUser(() => storePath);
  await withStore(async (store) => {
    await runFeaturePipeline(store, bundle);
    await trainModelFromSpec(store, bundle, model);
    await materialize(store, bundle);
  });
  return {
    root,
    bundle,
    storePath,
    withStore,
    start: (opts = {}) => startServer(bundle, { store: storePath, logs: false, port: 0, watch: false, logger: quiet, ...opts }),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** A test file's served stream: made and started before its tests, closed and removed after them; `server` may be replaced (a restart). */
export interface ServedStreamUse {
  stream: ServedStream;
  server: RunningServer;
}

/** Registers the beforeAll/afterAll of a served stream; `setup` writes the data (it runs in the beforeAll). */
export function useServedStream(setup: () => { name: string; spec: string; files: Record<string, string>; model: string }): ServedStreamUse {
  const use = {} as ServedStreamUse;
  beforeAll(async () => {
    const s = setup();
    use.stream = await servedStreamSpec(s.name, s.spec, s.files, s.model);
    use.server = await use.stream.start();
  }, 120_000);
  afterAll(async () => {
    await use.server?.close();
    use.stream?.cleanup();
  });
  return use;
}

/** The features a prediction of `model` serves for `request` (a 200 expected), by name. */
export async function servedFeatures(server: RunningServer, model: string, request: object): Promise<Record<string, unknown>> {
  const r = await fetch(`${server.url}/v1/models/${model}/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(request) });
  expect(r.status, `${JSON.stringify(request)}: ${await r.clone().text()}`).toBe(200);
  const body = (await r.json()) as { features: Record<string, { value: unknown }> };
  return Object.fromEntries(Object.entries(body.features).map(([k, v]) => [k, v.value]));
}

/** Two symbols' daily quotes for 30 days from `QUOTES_T0`, streamed (lateness 1d) into a served model `price`. */
export const QUOTES_T0 = Date.UTC(2025, 0, 1);
const QUOTES_SPEC = `
source quotes {
  path "data/quotes.csv"
  stream lateness 1d
  event_time at
  unique (symbol, at)
  fields { symbol: string  at: timestamp  price: float check (> 0) }
}
entity stock { key symbol: string }
feature_group trend for stock from quotes {
  price_now = price
  avg_7d = avg(price) over 7d
}
view price_data for stock from quotes {
  label price_next = price
  features trend.*
}
${servedModel("price", "price_data")}`;

export function quotesStream(name: string): { name: string; spec: string; files: Record<string, string>; model: string } {
  const day = 86_400_000;
  const rows = ["A", "B"].flatMap((symbol, k) => Array.from({ length: 30 }, (_, i) => ({ symbol, at: QUOTES_T0 + i * day, price: 10 + k + (i % 7) })));
  const csv = ["symbol,at,price", ...rows.map((r) => `${r.symbol},${new Date(r.at).toISOString()},${r.price}`)].join("\n") + "\n";
  return { name, spec: QUOTES_SPEC, files: { "data/quotes.csv": csv }, model: "price" };
}
