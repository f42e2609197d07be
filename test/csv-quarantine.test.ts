// Strict CSV (#5, #15): a malformed line (a stray quote, an extra or a missing
// field, invalid UTF-8, garbage) is quarantined with its row number and
// reason; the good rows around it are kept and numbered as in the file; a
// stray quote never makes a phantom entity; an empty file says it is empty.
// Mixed line endings, blank or repeated header names and UTF-16 text are
// read, or refused with a reason, never a failure of DuckDB's.

import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { copyWithLfEndings, uniformLineEndings } from "../runtime/features/csv-line-endings.ts";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import { activitiesSource, athleteBundle, rng, tempDir } from "./helpers/bundles.ts";

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

const HEADER = "activity_id,athlete_id,started_at,sport,distance_km,elapsed_time_s,elevation_gain_m,planned_pace_min_km,avg_hr";
const line = (id: string, day: number, athlete = "ath0", km = "10") => `${id},${athlete},2025-01-${String(day).padStart(2, "0")} 08:00:00,run,${km},3000,50,5,`;

async function run(lines: Array<string | Buffer>) {
  return runFile(Buffer.concat(lines.map((l) => (typeof l === "string" ? Buffer.from(l + "\n") : Buffer.concat([l, Buffer.from("\n")])))));
}

async function runFile(bytes: Buffer) {
  const dir = tempDir();
  writeFileSync(join(dir, "acts.csv"), bytes);
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

describe("line endings", () => {
  // Lines ending in a value (avg_hr), not in an empty field: DuckDB fails on those when the endings mix.
  const rows = [line("a1", 1), line("a2", 2), `a3,ath0,2025-01-03 08:00:00,run,x,3000,50,5,`, line("a4", 4), line("a5", 5)].map((l) => l + "150");
  const ids = ["a1", "a2", "a4", "a5"];
  const cases: Array<[string, string]> = [
    ["LF", [HEADER, ...rows].join("\n") + "\n"],
    ["CRLF", [HEADER, ...rows].join("\r\n") + "\r\n"],
    ["CR alone (old Mac)", [HEADER, ...rows].join("\r") + "\r"],
    ["a CRLF header over LF rows", HEADER + "\r\n" + rows.join("\n") + "\n"],
    ["one CRLF line in an LF file", [HEADER, ...rows.slice(0, 3)].join("\n") + "\r\n" + rows.slice(3).join("\n") + "\n"],
    ["one LF line in a CRLF file, no final line break", [HEADER, ...rows.slice(0, 2)].join("\r\n") + "\n" + rows.slice(2).join("\r\n")],
  ];

  it.each(cases)("%s: every good row kept, the bad one quarantined as row 3", async (_name, text) => {
    const { q, kept } = await runFile(Buffer.from(text));
    expect(kept.map((k) => k.activity_id)).toEqual(ids);
    expect(q.map((r) => [r.row_number, r.reason])).toEqual([[3, "distance_km: 'x' is not a float"]]);
  });

  it("an unterminated quote in a file of mixed line ends: one line quarantined, the rows after it kept", async () => {
    const [a1, , , a4, a5] = rows;
    const open = `a2,"ath0,2025-01-02 08:00:00,run,10,3000,50,5,150`;
    const a3 = line("a3", 3) + "150";
    const { q, kept } = await runFile(Buffer.from(`${HEADER}\r\n${a1}\r\n${open}\r\n${a3}\n${a4}\r\n${a5}\r\n`));
    expect(kept.map((k) => k.activity_id)).toEqual(["a1", "a3", "a4", "a5"]);
    expect(q.map((r) => [r.row_number, r.reason.replace(/ \(.*$/, "")])).toEqual([[2, "unreadable line: a quote that is not closed"]]);
  });

  it("a quoted value keeps its own line break, whatever the file's", async () => {
    const quoted = `a3,"ath\r\n0",2025-01-03 08:00:00,run,10,3000,50,5,`;
    const { q, kept } = await runFile(Buffer.from([HEADER, line("a1", 1), quoted, line("a4", 4)].join("\n") + "\r\n"));
    expect(q).toEqual([]);
    expect(kept).toEqual([
      { activity_id: "a1", athlete_id: "ath0" },
      { activity_id: "a3", athlete_id: "ath\r\n0" },
      { activity_id: "a4", athlete_id: "ath0" },
    ]);
  });
});

describe("header names", () => {
  it("a trailing delimiter, blank names and a repeated name (in any case) are read; the field takes the first", async () => {
    const { q, kept } = await run([HEADER + ",,ACTIVITY_ID,", line("a1", 1) + ",x,y,z", line("a2", 2) + ",x,y,z"]);
    expect(q).toEqual([]);
    expect(kept.map((k) => k.activity_id)).toEqual(["a1", "a2"]);
  });

  it("UTF-16 text is refused with what it is, with or without a byte order mark", async () => {
    const text = [HEADER, line("a1", 1)].join("\n") + "\n";
    await expect(runFile(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]))).rejects.toThrow(/acts\.csv is UTF-16 text/);
    await store?.close();
    store = undefined;
    await expect(runFile(Buffer.from(text, "utf16le"))).rejects.toThrow(/acts\.csv has a NUL character in its header line/);
  });
});

describe("line endings across the 1 MB reads", () => {
  const MB = 1 << 20;
  const file = (text: string) => {
    const path = join(tempDir(), "x.csv");
    writeFileSync(path, text);
    return path;
  };

  it("a \\r\\n split by the read boundary is one line end; a lone \\r or a \\r after LF lines is not uniform", () => {
    expect(uniformLineEndings(file("a".repeat(MB - 1) + "\r\nb\r\n"))).toBe(true);
    expect(uniformLineEndings(file("a".repeat(MB - 1) + "\rb\r\n"))).toBe(false);
    expect(uniformLineEndings(file("a\n" + "b".repeat(2 * MB) + "\r\n"))).toBe(false);
    expect(uniformLineEndings(file("a\n" + "b".repeat(2 * MB) + "\n"))).toBe(true);
  });

  it("the copy turns every line end outside quotes into \\n, a \\r\\n split by the boundary included", () => {
    const head = "a".repeat(MB - 1);
    const copy = copyWithLfEndings(file(head + '\r\nb\r"c\r\nd""\r",e\r'), ",");
    try {
      expect(readFileSync(copy, "utf8")).toBe(head + '\nb\n"c\r\nd""\r",e\n');
    } finally {
      rmSync(dirname(copy), { recursive: true, force: true });
    }
  });
});

describe("random CSV files", () => {
  // Good rows with random damage (bad values, extra or missing fields, quotes,
  // NUL, line breaks) and random line ends: every line is kept or quarantined,
  // the counts add up, and nothing fails but a UserError.
  const VALUES = ["", "x", "-1", "NaN", "inf", "1e400", "9223372036854775808", "2025-02-30", '"', '""', '"a,b"', "\u0000", "é", " ", "0x10", "\t", "\r", "a\nb", '"a\nb"', "1e-400"];
  const good = (i: number) => [`a${i}`, `ath${i % 3}`, `2025-01-${String(1 + (i % 28)).padStart(2, "0")} 08:00:00`, "run", "10", "3000", "50", "5", "150"];

  it("30 files: read = kept + quarantined, for every one", async () => {
    const r = rng(31);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
    for (let t = 0; t < 30; t++) {
      const lines = [HEADER];
      for (let i = 0, n = 1 + Math.floor(r() * 20); i < n; i++) {
        const row = good(i);
        if (r() < 0.4) row[Math.floor(r() * row.length)] = pick(VALUES);
        if (r() < 0.1) row.push(pick(VALUES));
        if (r() < 0.1) row.pop();
        lines.push(row.join(","));
      }
      const eol = pick(["\n", "\r\n", "\r", "mixed"]);
      const text = eol === "mixed" ? lines.map((l) => l + pick(["\n", "\r\n"])).join("") : lines.join(eol) + eol;
      const dir = tempDir();
      writeFileSync(join(dir, "acts.csv"), text);
      store = await openStore({ path: ":memory:" });
      const report = await runFeaturePipeline(store, athleteBundle(dir, { sources: [activitiesSource("acts.csv")], groups: [], views: [] })).catch((e: Error) => {
        throw new Error(`${e.message}\n--- input ---\n${JSON.stringify(text)}`);
      });
      const [{ q }] = await store.all<{ q: bigint }>("SELECT count(*) AS q FROM fti_quarantine");
      const [{ k }] = await store.all<{ k: bigint }>("SELECT count(*) AS k FROM src_activities");
      const s = report.sources[0];
      expect([s.read, s.valid, s.quarantined], JSON.stringify(text)).toEqual([Number(q) + Number(k), Number(k), Number(q)]);
      await store.close();
      store = undefined;
    }
  });
});
