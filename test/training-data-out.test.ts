// `fti training-data --out` names a Parquet file: `--out train.csv` wrote
// Parquet bytes under a .csv name (a new user opened it as text); now it is
// refused before the spec is loaded, exit 1, as `fti predict --out scores.csv` is.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";

const BIN = path.resolve("compiler/cli/bin.mjs");

describe("fti training-data --out", () => {
  it.each(["train.csv", "train", "train.parquet.tmp"])("%s is refused: the file would be Parquet", (name) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-td-out-"));
    try {
      const out = path.join(dir, name);
      const r = spawnSync(process.execPath, [BIN, "training-data", "specs/athlete.fti", "time_estimator_data", "--out", out, "--store", path.join(dir, "s.duckdb")], {
        encoding: "utf8",
        env: { ...process.env, FTI_DEBUG: "" },
      });
      expect(r.stderr).toContain(`--out ${out}: the training data is written as Parquet`);
      expect(r.stderr).toContain("hint: name the file *.parquet");
      expect(r.status).toBe(1);
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("--out that is the store's own file", () => {
  it("fti training-data and fti predict refuse it (and predict a table fti owns): a store named s.parquet was overwritten by the export, every table lost", async () => {
    const { projectFiles } = await import("../compiler/cli/init-template.ts");
    const { compileTempSpec } = await import("./helpers/temp-spec.ts");
    const { openStore } = await import("../runtime/store/store.ts");
    const { runFeaturePipeline } = await import("../runtime/features/pipeline.ts");
    const { exportTrainingData } = await import("../runtime/retrieval/export.ts");
    const { predictBatch } = await import("../runtime/inference/batch.ts");
    const files = projectFiles("p", "0.1.0", new Date("2026-06-01T00:00:00Z"));
    const t = await compileTempSpec({ "spec.fti": files.get("specs/deliveries.fti")!, "data/deliveries.csv": files.get("specs/data/deliveries.csv")! });
    const file = path.join(t.dir, "s.parquet");
    const link = path.join(t.dir, "link.parquet");
    try {
      const store = await openStore({ path: file });
      try {
        await runFeaturePipeline(store, t.bundle);
        fs.symlinkSync(file, link);
        for (const out of [file, link]) {
          await expect(exportTrainingData(store, t.bundle, "delivery_data", out)).rejects.toThrow(`--out ${out} is the store's own file`);
          await expect(predictBatch(store, t.bundle, "delivery_time", { out, entitiesFile: path.join(t.dir, "e.csv") })).rejects.toThrow(`--out ${out} is the store's own file`);
        }
        // A table fti or a source owns: `--out src_deliveries` appended the predictions to the source's stored rows.
        const entities = path.join(t.dir, "e.csv");
        fs.writeFileSync(entities, "courier_id,distance_km\nc01,3\n");
        for (const out of ["src_deliveries", "main.FG_courier_form_v1", "online_courier_form_v1", "fti_models", "fti", "temp.scores"]) {
          await expect(predictBatch(store, t.bundle, "delivery_time", { out, entitiesFile: entities }), out).rejects.toThrow(new RegExp(`^--out ${out.replace(".", "\\.")}: \\S+ is (one of fti's own tables|a temporary table)`));
        }
        const [row] = await store.all<{ n: number | bigint }>("SELECT count(*) AS n FROM src_deliveries");
        expect(Number(row.n)).toBeGreaterThan(0);
      } finally {
        await store.close();
      }
    } finally {
      t.cleanup();
    }
  }, 120_000);
});
