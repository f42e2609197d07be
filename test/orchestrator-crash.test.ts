// A crash of `fti run` in the middle of a feature pipeline (the extern
// function the pipeline calls kills its process) resumes cleanly: the next
// tick marks the interrupted run, runs the pipeline once, and the feature
// tables equal a clean `fti features` over the same range; a further tick at
// the same clock runs nothing again.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../runtime/store/store.ts";
import { listRuns } from "../runtime/orchestrator/runs.ts";
import { writeAthleteSources } from "./helpers/athlete-sources.ts";
import { REPO, runFti } from "./helpers/online-athlete.ts";

const root = join(REPO, ".fti", `run-crash-test-${process.pid}`);
const NOW = "2025-04-01";

async function fingerprint(store: string, table: string): Promise<{ n: number; md5: string }> {
  const s = await openStore({ path: store, readOnly: true });
  try {
    const [row] = await s.all<{ n: number; md5: string }>(
      `SELECT count(*) AS n, md5(coalesce(string_agg(CAST(t AS VARCHAR), '|' ORDER BY CAST(t AS VARCHAR)), '')) AS md5
         FROM (SELECT * EXCLUDE (ingested_at) FROM ${table}) AS t`,
    );
    return { n: Number(row.n), md5: row.md5 };
  } finally {
    await s.close();
  }
}

beforeAll(async () => {
  mkdirSync(join(root, "data/athlete"), { recursive: true });
  copyFileSync(join(REPO, "specs/athlete.fti"), join(root, "athlete.fti"));
  // The spec's extern function, with a crash switch: SIGKILL in the middle of the group SQL that calls it.
  const fn = readFileSync(join(REPO, "specs/athlete.functions.ts"), "utf8").replace(
    /(export function hr_zone\([^)]*\)[^{]*\{)/,
    `$1\n  if (process.env.FTI_TEST_CRASH === "1") process.kill(process.pid, "SIGKILL");`,
  );
  expect(fn).toContain("FTI_TEST_CRASH");
  writeFileSync(join(root, "athlete.functions.ts"), fn);
  await writeAthleteSources(root, { athletes: 6, days: 150, seed: 3, start: "2024-11-01" });
}, 120_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("fti run after a crash", () => {
  it("resumes from the watermarks without running anything twice", async () => {
    const args = ["run", "athlete.fti", "--once", "--now", NOW];
    const crashed = await runFti(args, root, { FTI_TEST_CRASH: "1" });
    expect(crashed.code, crashed.stderr).toBeNull(); // killed by the signal

    const resumed = await runFti(args, root);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/features +fitness +ok +first run rows \d+/);
    expect(resumed.stdout).toMatch(/materialize +· +ok/);

    const store = join(root, ".fti/store.duckdb");
    const s = await openStore({ path: store });
    const runs = await listRuns(s);
    await s.close();
    const features = runs.filter((r) => r.kind === "features");
    expect(features.map((r) => r.status).sort()).toEqual(["interrupted", "ok"]);

    // The same tables as one clean run of the same pipeline (the scheduled group `fitness` with its
    // upstream group, tick.ts's withUpstream) over the same range. Only those: the spec's other
    // sources (the profiles reference data) are not written here and fti run does not read them.
    const reference = join(root, "reference.duckdb");
    const clean = await runFti(["features", "athlete.fti", "--group", "activity_stats", "fitness", "--to", NOW, "--store", reference], root);
    expect(clean.code, clean.stderr).toBe(0);
    for (const table of ["fg_activity_stats_v1", "fg_fitness_v1"]) {
      const got = await fingerprint(store, table);
      expect(got.n).toBeGreaterThan(0);
      expect(got).toEqual(await fingerprint(reference, table));
    }

    // Nothing is due again at the same clock: no second feature run.
    const again = await runFti(args, root);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).not.toMatch(/^\S+ \S+ +features/m);
    const s2 = await openStore({ path: store, readOnly: true });
    expect((await listRuns(s2)).filter((r) => r.kind === "features" && r.status === "ok")).toHaveLength(1);
    await s2.close();
  });
});
