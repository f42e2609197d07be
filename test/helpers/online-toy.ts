// A small store for the online tests, built once per test file: the
// hand-made toy bundle (test/helpers/model-bundles.ts) with its synthetic
// feature table, three trained models (gbdt without impute, linear with
// impute, and a model with an ODT over a request field), in a temp file.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SpecBundle } from "../../runtime/api.ts";
import { startServer, type RunningServer, type ServeOptions } from "../../runtime/online/http.ts";
import { materialize } from "../../runtime/online/materialize.ts";
import type { Store } from "../../runtime/store/store.ts";
import { trainModelFromSpec } from "../../runtime/training/train.ts";
import { input, loadSyntheticTables, makeBundle, model, step, withRequestSchemas } from "./model-bundles.ts";
import { storeUser } from "./store-user.ts";

/**
 * toy_gbdt: no impute (an unknown entity is a 422); toy_linear: partial impute
 * (also 422); toy_request: an ODT over the request field `amount`;
 * toy_impute: every input imputed (an unknown entity still gets a prediction).
 */
export const TOY_MODELS = ["toy_gbdt", "toy_linear", "toy_request", "toy_impute"] as const;

export interface ToyStore {
  dir: string;
  storePath: string;
  logsDir: string;
  bundle: SpecBundle;
  /** Opens the store, runs fn, closes it (the service must not be reading at the same time in this process). */
  withStore<T>(fn: (store: Store) => Promise<T>): Promise<T>;
  cleanup(): void;
}

/** The toy bundle serving three models online. */
export function toyBundle(over: Partial<SpecBundle> = {}): SpecBundle {
  const base = makeBundle();
  const impute = model("toy_impute", [
    input("x1", [step("impute", { strategy: "median" }), step("standard_scale")]),
    input("x2", [step("impute", { strategy: "mean" }), step("standard_scale")]),
  ]);
  return withRequestSchemas({
    ...base,
    models: [...base.models, impute],
    serves: TOY_MODELS.map((m) => ({ model: m, online: true })),
    ...over,
  });
}

export async function buildToyStore(opts: { train?: readonly string[]; bundle?: SpecBundle } = {}): Promise<ToyStore> {
  const dir = mkdtempSync(join(tmpdir(), "fti-online-"));
  const storePath = join(dir, "store.duckdb");
  const bundle = opts.bundle ?? toyBundle();
  const withStore = storeUser(() => storePath);
  await withStore(async (store) => {
    await loadSyntheticTables(store);
    for (const m of opts.train ?? TOY_MODELS) await trainModelFromSpec(store, bundle, m);
  });
  return {
    dir,
    storePath,
    logsDir: join(dir, "logs"),
    bundle,
    withStore,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A toy store, materialized and served twice: `fast` with the node:http fast paths, `slow` with every request through Fastify. */
export async function servedBothWays(over: Partial<ServeOptions> = {}): Promise<{ toy: ToyStore; fast: RunningServer; slow: RunningServer; close(): Promise<void> }> {
  const toy = await buildToyStore();
  await toy.withStore((store) => materialize(store, toy.bundle));
  const base = { port: 0, store: toy.storePath, logs: false as const, watch: false, ...over };
  const fast = await startServer(toy.bundle, base);
  const slow = await startServer(toy.bundle, { ...base, fastPredict: false, fastEvents: false });
  return {
    toy,
    fast,
    slow,
    close: async () => {
      for (const s of [fast, slow]) await s.close();
      toy.cleanup();
    },
  };
}
