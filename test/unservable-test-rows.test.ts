// fti train says how many of the test rows its metrics count would be refused by serving: a null join
// key (online 400) or a join with no group row when the MDTs do not impute (online 422). gbdt scores
// missing inputs, so such rows trained and tested without a word: over vega-datasets' movies (director
// and distributor joins, 45% of films without a director, most directors with one film) the newuser
// lane's genre model reported accuracy 0.465 on 959 test rows, 540 of which serving refuses. The counts
// are checked against the rule read from the rows and against `fti predict --time-column` over the same
// test rows (what a backtest is refused). It also warns of training rows dated after now.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const BIN = path.resolve("compiler/cli/bin.mjs");

const SPEC = (transforms: string) => `
source films {
  path "films.csv"
  event_time released
  unique film_id
  fields { film_id: string  released: timestamp  director: string?  distributor: string?  budget: float  genre: string }
}
entity director { key director: string }
entity distributor { key distributor: string }
feature_group director_films for director from films {
  films_1y = count() over 365d
  budget_1y = avg(budget) over 365d
}
feature_group distributor_films for distributor from films {
  releases_30d = count() over 30d
}
view genre_data from films {
  label kind = genre
  features director_films.* by director
  features distributor_films.* by distributor
  features films.budget
  ttl 200d
}
model genre {
  view genre_data
  task multiclass_classification
  algorithm gbdt(trees: 3)
  ${transforms}
  split time(test_from: 2024-07-01)
}
serve genre { online }
`;

const DAY = 86_400_000;

// A film a day for a year: a few directors who film often, some who film once, some films without one;
// one distributor per film, but a few without. A director's films more than 200 days apart: stale rows.
const films = Array.from({ length: 366 }, (_, i) => {
  const director = i % 5 === 0 ? null : i % 7 === 0 ? `once_${i}` : i % 61 === 3 ? "rare" : `d${i % 4}`;
  return {
    id: `f${i}`,
    t: Date.UTC(2024, 0, 1) + i * DAY,
    director,
    // "late" releases a film on days 10, 251 and 300: day 251's last one is 241 days before, past the ttl.
    distributor: i % 23 === 0 ? null : [10, 251, 300].includes(i) ? "late" : `p${i % 3}`,
    budget: 1 + (i % 9),
    genre: ["drama", "comedy", "action"][i % 3],
  };
});
const CSV = [
  "film_id,released,director,distributor,budget,genre",
  ...films.map((f) => `${f.id},${new Date(f.t).toISOString()},${f.director ?? ""},${f.distributor ?? ""},${f.budget},${f.genre}`),
].join("\n");
const testFrom = Date.UTC(2024, 6, 1);
const testRows = films.filter((f) => f.t >= testFrom);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-unservable-"));
fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "unservable", private: true, type: "module" }));
fs.mkdirSync(path.join(dir, "node_modules"));
fs.symlinkSync(path.resolve("."), path.join(dir, "node_modules", "fti"));
fs.writeFileSync(path.join(dir, "films.csv"), CSV);
fs.writeFileSync(path.join(dir, "test.csv"), ["director,distributor,budget,released", ...testRows.map((f) => `${f.director ?? ""},${f.distributor ?? ""},${f.budget},${new Date(f.t).toISOString()}`)].join("\n"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function fti(args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, FTI_DEBUG: "", FTI_STORE: "" } });
  return { code: r.status, out: r.stdout + r.stderr };
}

/** The rule read from the rows: a null key first (director's, then distributor's), else a join with no earlier row within 200 days. */
function reference(): { nullDirector: number; nullDistributor: number; noDirectorRow: number; noDistributorRow: number } {
  const found = (f: (typeof films)[number], key: "director" | "distributor") => films.some((o) => o[key] === f[key] && o.t < f.t && o.t >= f.t - 200 * DAY);
  const keyed = testRows.filter((f) => f.director !== null && f.distributor !== null);
  return {
    nullDirector: testRows.filter((f) => f.director === null).length,
    nullDistributor: testRows.filter((f) => f.director !== null && f.distributor === null).length,
    noDirectorRow: keyed.filter((f) => !found(f, "director")).length,
    noDistributorRow: keyed.filter((f) => found(f, "director") && !found(f, "distributor")).length,
  };
}

describe("fti train counts the test rows serving would refuse", () => {
  it("names the null keys and the joins without a row, as many as a backtest of the test rows rejects", () => {
    fs.writeFileSync(path.join(dir, "spec.fti"), SPEC(""));
    expect(fti(["features", "spec.fti"]).code).toBe(0);
    const ref = reference();
    // The data has each case: films without a director or distributor, first films, a director back after 200 days.
    expect(Object.values(ref).every((n) => n > 0)).toBe(true);
    const train = fti(["train", "spec.fti"]);
    expect(train.code, train.out).toBe(0);
    const refused = ref.nullDirector + ref.nullDistributor + ref.noDirectorRow + ref.noDistributorRow;
    expect(train.out).toContain(
      `note: serving would refuse ${refused} of the ${testRows.length} test rows the metrics count: ` +
        `${ref.nullDirector + ref.nullDistributor} with a null key (director ${ref.nullDirector}, distributor ${ref.nullDistributor}: a 400, a key cannot be null); ` +
        `${ref.noDirectorRow + ref.noDistributorRow} with no group row within the ttl (director_films ${ref.noDirectorRow}, distributor_films ${ref.noDistributorRow}: ` +
        "a 422, as the MDTs do not impute every input; add an `impute` step to films_1y, budget_1y, releases_30d to serve them)",
    );
    // A backtest of the same rows, each at its own time, is refused as often, for the same reasons.
    const backtest = fti(["predict", "spec.fti", "genre", "--entities", "test.csv", "--time-column", "released"]);
    expect(backtest.out).toContain(
      `${refused} rows rejected: ${ref.nullDirector + ref.nullDistributor} invalid (what online answers 400), ` +
        `${ref.noDirectorRow + ref.noDistributorRow} unknown or stale entities the model cannot impute (online 422)`,
    );
  });

  it("names the inputs without an impute step, in the note and in online's 422", () => {
    // Both of the director's features imputed: the distributor's is the one left, whatever the rows.
    fs.writeFileSync(path.join(dir, "spec.fti"), SPEC("transform films_1y, budget_1y: impute(constant: 0)"));
    const train = fti(["train", "spec.fti"]);
    expect(train.code, train.out).toBe(0);
    expect(train.out).toContain("a 422, as the MDTs do not impute every input; add an `impute` step to releases_30d to serve them)");
    const request = { director: "nobody", distributor: "p1", budget: 3 };
    const mcp = spawnSync(process.execPath, [BIN, "mcp", "spec.fti", "--now", "2025-01-01"], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, FTI_DEBUG: "", FTI_STORE: "" },
      input: [
        { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-03-26", capabilities: {}, clientInfo: { name: "t", version: "1" } } },
        { jsonrpc: "2.0", method: "notifications/initialized" },
        { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "predict", arguments: { model: "genre", request } } },
      ]
        .map((m) => JSON.stringify(m))
        .join("\n"),
    });
    const answer = mcp.stdout.split("\n").find((l) => l.includes('"id":2'));
    expect(answer, mcp.stdout + mcp.stderr).toBeDefined();
    const text = JSON.parse(answer!).result.content[0].text as string;
    expect(text).toContain("model `genre` cannot predict without these features: its MDTs do not impute every input (no `impute` step: releases_30d)");
  });

  it("a model that imputes every input is refused only the null keys; no note when serving takes every row", () => {
    fs.writeFileSync(path.join(dir, "spec.fti"), SPEC("transform films_1y, budget_1y, releases_30d: impute(constant: 0)"));
    const ref = reference();
    const train = fti(["train", "spec.fti"]);
    expect(train.code, train.out).toBe(0);
    expect(train.out).toContain(
      `note: serving would refuse ${ref.nullDirector + ref.nullDistributor} of the ${testRows.length} test rows the metrics count: ` +
        `${ref.nullDirector + ref.nullDistributor} with a null key (director ${ref.nullDirector}, distributor ${ref.nullDistributor}: a 400, a key cannot be null)\n`,
    );
    // Every film with a director and a distributor (a store of its own), every director's film joined: no note.
    fs.writeFileSync(path.join(dir, "films.csv"), CSV.replace(/,,/g, ",nobody,").replace(/,,/g, ",nobody,"));
    const all = fti(["features", "spec.fti", "--store", "all.duckdb"]);
    expect(all.code, all.out).toBe(0);
    const again = fti(["train", "spec.fti", "--store", "all.duckdb"]);
    expect(again.code, again.out).toBe(0);
    expect(again.out).toContain("model genre@1 → production");
    expect(again.out).not.toContain("serving would refuse");
  });

  it("warns of rows dated after now (a two-digit year read as 20xx)", () => {
    // Five films of 1999 written as 2099: vega-datasets' movies has King Kong (1933) on 2033-04-07.
    const future = films.slice(0, 5).map((f, i) => `x${i},2099-01-0${i + 1}T00:00:00Z,d1,p1,2,drama`);
    fs.writeFileSync(path.join(dir, "films.csv"), [CSV, ...future].join("\n"));
    fs.writeFileSync(path.join(dir, "spec.fti"), SPEC("transform films_1y, budget_1y, releases_30d: impute(constant: 0)"));
    expect(fti(["features", "spec.fti", "--store", "future.duckdb"]).code).toBe(0);
    const train = fti(["train", "spec.fti", "--store", "future.duckdb"]);
    expect(train.code, train.out).toBe(0);
    expect(train.out).toContain(
      `warning: 5 of the ${films.length + 5} rows are dated after now (the latest at 2099-01-05T00:00:00.000Z): their labels are taken as observed ` +
        "and a time split tests on them first; check the event times (a clock off, or a two-digit year read as 20xx)",
    );
  });
});
