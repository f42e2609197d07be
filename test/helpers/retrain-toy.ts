// A store for the continuous-training tests: the toy bundle with a `retrain`
// block on toy_request (served online, split: the last 60 days), its champion
// trained at day 200, and a request log of days 200–261 in which x1 shifts by
// +8 from day 240 (drift).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SpecBundle } from "../../runtime/api.ts";
import { RequestLog } from "../../runtime/online/log.ts";
import { openStore, type Store } from "../../runtime/store/store.ts";
import { trainModelFromSpec } from "../../runtime/training/train.ts";
import { featureValues, loadSyntheticTables, makeBundle, T0 } from "./model-bundles.ts";

export const DAY = 86_400_000;
/** The clock of the scenario's tick: day 262. */
export const NOW = new Date(T0 + 262 * DAY);
export const DRIFT_FROM_DAY = 240;

export function retrainBundle(): SpecBundle {
  const base = makeBundle();
  const models = base.models.map((m) =>
    m.name === "toy_request"
      ? { ...m, split: { kind: "last" as const, testLastMs: 60 * DAY }, retrain: { line: 1, drift: [{ measure: "psi" as const, op: ">" as const, value: 0.25 }], live: [], promoteIfBetter: "mae" } }
      : m,
  );
  return { ...base, models, serves: [{ model: "toy_request", online: true }] };
}

export interface RetrainToy {
  dir: string;
  storePath: string;
  logsDir: string;
  bundle: SpecBundle;
  withStore<T>(fn: (s: Store) => Promise<T>): Promise<T>;
  cleanup(): void;
}

/** Served requests from day 200 to 261, one per user and day. */
async function logTraffic(logsDir: string): Promise<void> {
  const log = new RequestLog(logsDir);
  for (let day = 200; day < 262; day++) {
    for (const user of ["u01", "u02", "u03", "u04", "u05", "u06"]) {
      const ts = T0 + day * DAY + 3_600_000;
      const f = featureValues(user, ts);
      const x1 = f.x1 + (day >= DRIFT_FROM_DAY ? 8 : 0);
      log.append({
        v: 1, id: `${user}-${day}`, ts: new Date(ts).toISOString(), model: "toy_request", version: 1,
        request: { user_id: user, amount: 1 },
        features: { x1: { value: x1, status: "present" }, x2: { value: f.x2, status: f.x2 === null ? "null" : "present" }, cat: { value: f.cat, status: "present" } },
        feature_times: { user_stats: new Date(ts - DAY).toISOString() }, odts: { boost: x1 }, prediction: 1,
      });
    }
  }
  await log.close();
}

export async function buildRetrainToy(): Promise<RetrainToy> {
  const dir = mkdtempSync(join(tmpdir(), "fti-run-"));
  const storePath = join(dir, "store.duckdb");
  const logsDir = join(dir, "logs");
  const bundle = retrainBundle();
  const withStore = async <T>(fn: (s: Store) => Promise<T>): Promise<T> => {
    const s = await openStore({ path: storePath });
    try {
      return await fn(s);
    } finally {
      await s.close();
    }
  };
  await withStore(async (s) => {
    await loadSyntheticTables(s);
    const r = await trainModelFromSpec(s, bundle, "toy_request", { until: new Date(T0 + 200 * DAY) });
    if (r.stage !== "production") throw new Error("the champion did not pass its gates");
  });
  await logTraffic(logsDir);
  return { dir, storePath, logsDir, bundle, withStore, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
