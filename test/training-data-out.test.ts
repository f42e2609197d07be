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
