// Strict CSV (#5, #15): a malformed line (a stray quote, an extra or a missing
// field, invalid UTF-8, garbage) is quarantined with its row number and
// reason; the good rows around it are kept and numbered as in the file; a
// stray quote never makes a phantom entity; an empty file says it is empty.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import { activitiesSource, athleteBundle, tempDir } from "./helpers/bundles.ts";

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

const HEADER = "activity_id,athlete_id,started_at,sport,distance_km,elapsed_time_s,elevation_gain_m,planned_pace_min_km,avg_hr";
const line = (id: string, day: number, athlete = "ath0", km = "10") => `${id},${athlete},2025-01-${String(day).padStart(2, "0")} 08:00:00,run,${km},3000,50,5,`;

async function run(lines: Array<string | Buffer>) {
  const dir = tempDir();
  const parts = lines.map((l) => (typeof l === "string" ? Buffer.from(l + "\n") : Buffer.concat([l, Buffer.from("\n")])));
  writeFileSync(join(dir, "acts.csv"), Buffer.concat(parts));
  store = await openStore({ path: ":memory:" });
  await runFeaturePipeline(store, athleteBundle(dir, { sources: [activitiesSource("acts.csv")], groups: [], views: [] }));
  const q = await store.all<{ row_number: number; reason: string; row_json: string }>("SELECT row_number, reason, row_json FROM fti_quarantine ORDER BY row_number");
  const kept = await store.all<{ activity_id: string; athlete_id: string }>("SELECT activity_id, athlete_id FROM src_activities ORDER BY activity_id");
  return { q: q.map((r) => ({ ...r, row_number: Number(r.row_number) })), kept };
}

describe("strict CSV with per-line quarantine", () => {
  it("a stray quote is quarantined on its own line: no phantom entity, the rows after it are kept", async () => {
    const { q, kept } = await run([HEADER, line("a1", 1), `a2,"ath0,2025-01-02 08:00:00,run,10,3000,50,5,`, line("a3", 3), line("a4", 4, "ath1"), line("a5", 5)]);
    expect(kept.map((k) => k.activity_id)).toEqual(["a1", "a3", "a4", "a5"]);
    expect(kept.every((k) => !k.athlete_id.includes('"'))).toBe(true);
    expect(q).toHaveLength(1);
    expect(q[0]).toMatchObject({ row_number: 2, reason: expect.stringContaining("quote") });
    expect(JSON.parse(q[0].row_json).line).toBe(`a2,"ath0,2025-01-02 08:00:00,run,10,3000,50,5,`);
  });

  it("extra and missing fields, invalid UTF-8 and garbage are each one quarantined line; validation failures keep their row numbers", async () => {
    const { q, kept } = await run([
      HEADER,
      line("a1", 1),
      line("a2", 2) + ",extra",
      "a3,ath0,2025-01-03 08:00:00",
      line("a4", 4, "ath0", "-3"), // parses, fails check (> 0)
      Buffer.concat([Buffer.from("a5,ath"), Buffer.from([0xff, 0xfe]), Buffer.from(",2025-01-05 08:00:00,run,10,3000,50,5,")]),
      "%%% garbage %%%",
      line("a7", 7),
    ]);
    expect(kept.map((k) => k.activity_id)).toEqual(["a1", "a7"]);
    expect(q.map((r) => [r.row_number, r.reason.replace(/^(unreadable line: [^(]*) \(.*$/, "$1")])).toEqual([
      [2, "unreadable line: more fields than the header"],
      [3, "unreadable line: fewer fields than the header"],
      [4, "distance_km: -3 fails check (> 0)"],
      [5, "unreadable line: not valid UTF-8"],
      [6, "unreadable line: fewer fields than the header"],
    ]);
  });

  it("an empty file says it is empty; a header-only file has no rows", async () => {
    await expect(run([])).rejects.toThrow(/acts\.csv is empty: it has no header line/);
    await store?.close();
    store = undefined;
    const { q, kept } = await run([HEADER]);
    expect(q).toEqual([]);
    expect(kept).toEqual([]);
  });
});
