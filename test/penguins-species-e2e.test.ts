// Multi-class classification end to end: which species is a penguin?
// specs/penguins.fti's penguin_species (multinomial logistic) and
// penguin_species_trees (gbdt, one tree per class per round) through every
// pipeline — features, training-data, train, batch predict, serve, verify —
// and, on small temp specs, what a class unseen in training, a train split of
// one class and an int label do.

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { chromium } from "playwright-core";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCompiledSpec } from "../compiler/cli/load.ts";
import type { SpecBundle } from "../runtime/api.ts";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { predictBatch } from "../runtime/inference/batch.ts";
import { startServer } from "../runtime/online/http.ts";
import { verifyModel } from "../runtime/online/verify.ts";
import { RequestLog } from "../runtime/online/log.ts";
import type { RequestLogEntry } from "../runtime/online/types.ts";
import { monitorModel } from "../runtime/monitor/monitor.ts";
import { macroF1, multiclassAccuracy, multiclassLogloss } from "../runtime/learners/metrics.ts";
import { compareVersions } from "../runtime/orchestrator/challenger.ts";
import { getModel } from "../runtime/registry/registry.ts";
import { exportTrainingData } from "../runtime/retrieval/export.ts";
import { trainModelFromSpec, type TrainReport } from "../runtime/training/train.ts";
import { REPO } from "./helpers/online-athlete.ts";
import { storeUser } from "./helpers/store-user.ts";
import { compileTempSpec, type TempSpec } from "./helpers/temp-spec.ts";

const SPECIES = ["Adelie", "Chinstrap", "Gentoo"];

let root: string;
let bundle: SpecBundle;
let storePath: string;
let logistic: TrainReport;
let trees: TrainReport;
const withStore = storeUser(() => storePath);

beforeAll(async () => {
  root = join(REPO, ".fti", `penguins-species-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(root, { recursive: true });
  bundle = await loadCompiledSpec(join(REPO, "specs/penguins.fti"), { outDir: join(root, "generated"), quiet: true });
  storePath = join(root, "store.duckdb");
  await withStore(async (store) => {
    await runFeaturePipeline(store, bundle);
    // serving loads every served model of the spec
    await trainModelFromSpec(store, bundle, "penguin_mass");
    logistic = await trainModelFromSpec(store, bundle, "penguin_species");
    trees = await trainModelFromSpec(store, bundle, "penguin_species_trees", { threads: 2 });
  });
}, 120_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("specs/penguins.fti: the species, a multi-class label", () => {
  it("exports the training data with the species as text", async () => {
    const out = join(root, "species.parquet");
    const n = await withStore((store) => exportTrainingData(store, bundle, "species_data", out));
    const rows = await withStore((store) => store.all<{ species: string; n: number }>(`SELECT species, count(*)::INTEGER AS n FROM read_parquet('${out}') GROUP BY ALL ORDER BY species`));
    // 344 penguins, one quarantined (sex ".")
    expect(n).toBe(343);
    expect(rows.map((r) => r.species)).toEqual(SPECIES);
  });

  it("trains both algorithms far past the class-share baseline; the classes are stored with the version", async () => {
    for (const r of [logistic, trees]) {
      expect(r.stage).toBe("production");
      expect(r.classes).toEqual(SPECIES);
      expect(r.unseenTestLabels).toEqual({});
      expect(Object.keys(r.metrics)).toEqual(["accuracy", "logloss", "macro_f1"]);
      expect(r.metrics.accuracy).toBeGreaterThan(0.95);
      // the baseline always says the most common species (Adelie, ~44 %)
      expect(r.baseline.accuracy).toBeLessThan(0.55);
      expect(r.metrics.logloss).toBeLessThan(r.baseline.logloss / 3);
      expect(r.metrics.macro_f1).toBeGreaterThan(0.9);
      expect(r.onnx.maxAbsDiff).toBeLessThan(1e-5);
    }
    const record = await withStore((store) => getModel(store, "penguin_species", logistic.version));
    expect(record.task).toBe("multiclass_classification");
    expect(record.mdt_state.classes).toEqual(SPECIES);
    // retraining (any thread count) gives the same model: the same metrics and the same ONNX bytes
    const again = await withStore((store) => trainModelFromSpec(store, bundle, "penguin_species_trees", { threads: 1 }));
    expect(again.onnx.sha256).toBe(trees.onnx.sha256);
    expect(again.metrics).toEqual(trees.metrics);
  });

  it("batch and online give the same class and probabilities; a bad field is a 400 at its path; verify agrees", async () => {
    const entities = join(root, "birds.csv");
    writeFileSync(
      entities,
      [
        "island,beak_length_mm,beak_depth_mm,flipper_length_mm,body_mass_g",
        "Torgersen,39.1,18.7,181,3750",
        "Dream,49.7,18.6,195,3600",
        "Biscoe,46.1,13.2,211,4500",
        "Biscoe,,,,",
      ].join("\n") + "\n",
    );
    const batch = await withStore(async (store) => {
      // into the serve block's `batch into` table, which fti monitor reads
      await predictBatch(store, bundle, "penguin_species", { entitiesFile: entities });
      return store.all<{ prediction: string; probability: number; probabilities: Array<{ key: string; value: number }> | Map<string, number> }>(
        `SELECT prediction, probability, map_entries(probabilities) AS probabilities FROM predictions.penguin_species ORDER BY row_number`,
      );
    });
    const batchProbs = batch.map((b) => Object.fromEntries((b.probabilities as Array<{ key: string; value: number }>).map((e) => [e.key, e.value])));
    // an Adelie, a Chinstrap, a Gentoo by their measurements; the last has none (imputed): still a species
    expect(batch.map((b) => b.prediction)).toEqual(["Adelie", "Chinstrap", "Gentoo", expect.any(String)]);
    for (const [i, p] of batchProbs.entries()) {
      expect(Object.keys(p)).toEqual(SPECIES);
      expect(p.Adelie + p.Chinstrap + p.Gentoo).toBeCloseTo(1, 5);
      expect(batch[i].probability).toBe(Math.max(...Object.values(p)));
    }

    const logs = join(root, "logs");
    let fromPage = 0;
    const server = await startServer(bundle, { port: 0, store: storePath, logs });
    try {
      const post = (body: unknown) =>
        fetch(`${server.url}/v1/models/penguin_species/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      const info = (await (await fetch(`${server.url}/v1/models`)).json()) as { models: Array<{ model: string; task: string; classes?: string[] }> };
      expect(info.models.find((m) => m.model === "penguin_species")).toMatchObject({ task: "multiclass_classification", classes: SPECIES });
      const instances = [
        { island: "Torgersen", beak_length_mm: 39.1, beak_depth_mm: 18.7, flipper_length_mm: 181, body_mass_g: 3750 },
        { island: "Dream", beak_length_mm: 49.7, beak_depth_mm: 18.6, flipper_length_mm: 195, body_mass_g: 3600 },
        { island: "Biscoe", beak_length_mm: 46.1, beak_depth_mm: 13.2, flipper_length_mm: 211, body_mass_g: 4500 },
        { island: "Biscoe", beak_length_mm: null, beak_depth_mm: null, flipper_length_mm: null, body_mass_g: null },
      ];
      const ok = await post({ instances });
      expect(ok.status).toBe(200);
      const body = (await ok.json()) as { predictions: Array<{ prediction: string; probabilities: Record<string, number> }> };
      // served = batch: the same class and the same probabilities (the same float32 ONNX outputs)
      expect(body.predictions.map((p) => p.prediction)).toEqual(batch.map((b) => b.prediction));
      expect(body.predictions.map((p) => p.probabilities)).toEqual(batchProbs);
      const one = await post(instances[2]);
      expect(await one.json()).toMatchObject({ model: "penguin_species", prediction: "Gentoo", probabilities: batchProbs[2] });

      const paths = async (body: unknown) => {
        const res = await post(body);
        expect(res.status).toBe(400);
        return ((await res.json()) as { error: { issues: Array<{ path: unknown[] }> } }).error.issues.map((i) => i.path);
      };
      expect(await paths({ instances: [instances[0], { ...instances[1], beak_length_mm: "long" }] })).toEqual([["instances", 1, "beak_length_mm"]]);
      expect(await paths({ ...instances[1], island: "Antarctica" })).toEqual([["island"]]);
      fromPage = await pageShowsProbabilities(server.url, instances[2], batch[2].prediction, batchProbs[2]);
    } finally {
      await server.close();
    }
    const verified = await withStore((store) => verifyModel(store, bundle, "penguin_species", { logsDir: logs }));
    expect(verified.requests).toBe(5 + fromPage);
    expect(verified.mismatches).toBe(0);
    // fti monitor: the served and the batch predictions' drift, by class, against the test split's classes
    const monitored = await withStore((store) => monitorModel(store, bundle, "penguin_species", { logsDir: logs, windowMs: 10 * 365 * 86_400_000, save: false }));
    const served = monitored.windows.reduce((a, w) => a + w.prediction.count, 0);
    const scored = monitored.windows.reduce((a, w) => a + (w.batch?.prediction.count ?? 0), 0);
    expect([served, scored]).toEqual([5 + fromPage, 4]);
    for (const w of monitored.windows) if (w.prediction.count) expect(w.prediction.psi).not.toBeNull();
  });
});

const CHROMIUM = "/usr/bin/chromium";

/** The prediction page (a real browser; skipped without chromium, as test/online-page.test.ts): the class and every class's probability. */
async function pageShowsProbabilities(url: string, instance: Record<string, unknown>, prediction: string, probs: Record<string, number>): Promise<number> {
  if (!existsSync(CHROMIUM) && !process.env.CI) return 0;
  const profile = mkdtempSync(join(tmpdir(), "fti-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${url}/models/penguin_species`);
    for (const [name, v] of Object.entries(instance)) if (name !== "island") await page.fill(`#f-${name}`, String(v));
    await page.locator("#f-island").fill(String(instance.island)).catch(() => page.selectOption("#f-island", String(instance.island)));
    await page.click("#submit");
    await page.locator("#result").waitFor({ state: "visible" });
    expect(await page.locator("#prediction").getAttribute("data-value")).toBe(prediction);
    const shown = (await page.locator("#probabilities").textContent()) ?? "";
    expect(shown.split(" · ").map((part) => part.split(" ")[0])).toEqual(Object.keys(probs));
    return 1; // the page's request, logged
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

// Birds seen over a month: the Emperor only appears after the split time, so it is a test label
// no training row has; the code label is an int (classes 1, 2, 3 sorted as numbers).
function birdsCsv(): string {
  const lines = ["id,at,kind,code,size"];
  const sizes: Record<string, number> = { Adelie: 1, Gentoo: 5, Emperor: 9 };
  let id = 0;
  for (let day = 1; day <= 28; day++) {
    const kinds = day <= 20 ? ["Adelie", "Gentoo", "Adelie", "Gentoo"] : ["Adelie", "Gentoo", "Emperor"];
    for (const kind of kinds) {
      id++;
      const code = kind === "Adelie" ? 10 : kind === "Gentoo" ? 2 : 3;
      lines.push(`b${id},2025-03-${String(day).padStart(2, "0")}T12:00:00Z,${kind},${code},${sizes[kind] + (id % 3) * 0.1}`);
    }
  }
  return lines.join("\n") + "\n";
}

const BIRDS_SPEC = `
source birds {
  path "birds.csv"
  event_time at
  unique id
  fields {
    id: string
    at: timestamp
    kind: string
    code: int
    size: float
  }
}
on_demand bird_size(request size: float): float = size
view kind_data from birds {
  label kind = kind
  features bird_size
}
view code_data from birds {
  label code = code
  features bird_size
}
view adelie_only from birds where kind == "Adelie" or at >= 2025-03-21 {
  label kind = kind
  features bird_size
}
model bird_kind {
  view kind_data
  task multiclass_classification
  algorithm gbdt(trees: 10, depth: 2, min_leaf: 2)
  split time(test_from: 2025-03-21)
}
model bird_code {
  view code_data
  task multiclass_classification
  algorithm logistic
  split time(test_from: 2025-03-21)
}
model lonely_kind {
  view adelie_only
  task multiclass_classification
  algorithm logistic
  split time(test_from: 2025-03-21)
}
serve bird_code {
  online
}
serve bird_kind {
  online
}
`;

describe("multiclass on a time split: an unseen test class, one class, an int label", () => {
  let spec: TempSpec;
  let kinds: TrainReport;
  const birdStore = storeUser(() => join(spec.dir, "store.duckdb"));

  beforeAll(async () => {
    spec = await compileTempSpec({ "spec.fti": BIRDS_SPEC, "birds.csv": birdsCsv() });
    // bird_kind is served: every server of this spec loads it
    kinds = await birdStore(async (store) => {
      await runFeaturePipeline(store, spec.bundle);
      return trainModelFromSpec(store, spec.bundle, "bird_kind");
    });
  }, 60_000);

  afterAll(() => spec?.cleanup());

  it("a test label no training row has stays in the test split, counts as a miss and is reported", async () => {
    const r = kinds;
    expect(r.classes).toEqual(["Adelie", "Gentoo"]);
    expect(r.rows).toMatchObject({ train: 80, test: 24 });
    expect(r.unseenTestLabels).toEqual({ Emperor: 8 });
    // the 16 Adelie and Gentoo test rows are told apart by size; the 8 Emperors are never right
    expect(r.metrics.accuracy).toBeCloseTo(16 / 24, 12);
    expect(r.metrics.logloss).toBeGreaterThan((8 / 24) * -Math.log(1e-15) * 0.99);
  });

  it("fti run's challenger comparison scores each version against its own classes", async () => {
    const r = await birdStore(async (store) => {
      const again = await trainModelFromSpec(store, spec.bundle, "bird_kind");
      const plan = spec.bundle.models.find((m) => m.name === "bird_kind")!;
      const [v1, v2] = [await getModel(store, "bird_kind", kinds.version), await getModel(store, "bird_kind", again.version)];
      return compareVersions(store, spec.bundle, plan, "accuracy", v1, v2, new Date("2025-04-01T00:00:00Z"));
    });
    // the same test rows as training's: the Emperors are misses, the rest right
    expect(r.rows).toBe(24);
    expect(r.champion.value).toBeCloseTo(16 / 24, 12);
    expect(r.challenger.value).toBe(r.champion.value);
    expect(r.better).toBe(false);
  });

  it("a train split with one class is an error naming it", async () => {
    const e = await birdStore((store) => trainModelFromSpec(store, spec.bundle, "lonely_kind")).catch((x: Error) => x);
    expect(String(e)).toMatch(/the train split has one class \("Adelie"\) in 40 rows; a classifier needs at least two/);
  });

  it("fti monitor: live accuracy, logloss and macro F1 from the logged probabilities and the labels that arrived; the prediction's drift by class", async () => {
    const r = kinds;
    const birds = birdsCsv().trim().split("\n").slice(1).map((l) => {
      const [, at, kind, , size] = l.split(",");
      return { t: Date.parse(at), kind, size: Number(size) };
    });
    const HOUR = 3_600_000;
    const logs = join(spec.dir, "logs");
    const log = new RequestLog(logs);
    // one request an hour before each bird of the last week, asking about its size; the answer
    // a fixed guess (small: Adelie) — the Emperors are never right; every 5th request gets no label
    const entries: RequestLogEntry[] = birds.filter((b) => b.t >= Date.parse("2025-03-22T00:00:00Z")).map((b, i) => {
      const size = i % 5 === 4 ? 100 + i : b.size;
      const small = size < 3;
      const probabilities = small ? { Adelie: 0.8, Gentoo: 0.2 } : { Adelie: 0.3, Gentoo: 0.7 };
      return {
        v: 1, id: `b-${i}`, ts: new Date(b.t - HOUR).toISOString(), model: "bird_kind", version: r.version,
        request: { size }, features: {}, feature_times: {}, odts: { bird_size: size },
        prediction: small ? "Adelie" : "Gentoo", probabilities,
      };
    });
    for (const e of entries) log.append(e);
    await log.close();
    const report = await birdStore((store) =>
      monitorModel(store, spec.bundle, "bird_kind", { logsDir: logs, since: new Date("2025-03-22T00:00:00Z"), until: new Date("2025-04-01T00:00:00Z"), windowMs: 30 * 24 * HOUR, labelHorizonMs: 2 * HOUR, save: false }),
    );
    // brute force: a request's label is the first bird of the same size within 2 h after it
    const classes = ["Adelie", "Gentoo"];
    const y: number[] = [];
    const p: number[] = [];
    for (const e of entries) {
      const t = Date.parse(e.ts);
      const bird = birds.filter((b) => b.size === e.request.size && b.t >= t && b.t < t + 2 * HOUR).sort((a, b) => a.t - b.t)[0];
      if (!bird) continue;
      y.push(classes.indexOf(bird.kind));
      p.push(...classes.map((c) => e.probabilities![c]));
    }
    expect(y.filter((c) => c === -1).length).toBeGreaterThan(0);
    const [w] = report.windows;
    expect(w.live.labelled).toBe(y.length);
    expect(w.live.metrics.accuracy).toBeCloseTo(multiclassAccuracy(y, p), 12);
    expect(w.live.metrics.logloss).toBeCloseTo(multiclassLogloss(y, p), 9);
    expect(w.live.metrics.macro_f1).toBeCloseTo(macroF1(y, p), 12);
    expect(w.prediction.count).toBe(entries.length);
    expect(w.prediction.psi).not.toBeNull();
  });

  it("an int label: numeric classes sorted as numbers, a number in the answer and a BIGINT in the batch table", async () => {
    const r = await birdStore((store) => trainModelFromSpec(store, spec.bundle, "bird_code"));
    expect(r.classes).toEqual([2, 10]);
    expect(r.unseenTestLabels).toEqual({ "3": 8 });
    const entities = join(spec.dir, "ask.csv");
    writeFileSync(entities, "size\n1.1\n5.2\n");
    const batch = await birdStore(async (store) => {
      await predictBatch(store, spec.bundle, "bird_code", { entitiesFile: entities, out: "code_scores" });
      return store.all<{ prediction: bigint | number; t: string }>(`SELECT prediction, typeof(prediction) AS t FROM code_scores ORDER BY row_number`);
    });
    expect(batch.map((b) => [Number(b.prediction), b.t])).toEqual([[10, "BIGINT"], [2, "BIGINT"]]);
    const server = await startServer(spec.bundle, { port: 0, store: join(spec.dir, "store.duckdb"), logs: false });
    try {
      const res = await fetch(`${server.url}/v1/models/bird_code/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ size: 5.2 }) });
      const body = (await res.json()) as { prediction: number; probabilities: Record<string, number> };
      expect(body.prediction).toBe(2);
      expect(Object.keys(body.probabilities)).toEqual(["2", "10"]);
    } finally {
      await server.close();
    }
  });
});

