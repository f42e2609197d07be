// runtime/catalogue.ts is the one list of tasks, algorithms, hyperparameters,
// metrics and MDT kinds. The checker validates specs against it and the
// runtime executes it; these tests hold the rest to it: the language
// reference's tables, the learners (every algorithm trains exactly the tasks
// the catalogue gives it), the metrics and the MDT fitter.

import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { compileSpec } from "../compiler/compile.ts";
import { ALGORITHMS, MDT_KINDS, METRICS, TASKS, defaultParams, metricsOf, type BuiltinAlgorithm, type Task } from "../runtime/catalogue.ts";
import { DEFAULT_PARAMS, trainModel } from "../runtime/learners/index.ts";
import { computeMetrics } from "../runtime/learners/metrics.ts";
import { tempDir } from "./helpers/bundles.ts";

const languageDoc = fs.readFileSync("docs/language.md", "utf8");

/** The rows of the markdown table whose header line starts with `header`. */
function tableRows(header: string): string[][] {
  const lines = languageDoc.split("\n");
  const start = lines.findIndex((l) => l.startsWith(header));
  expect(start, `docs/language.md has a table starting "${header}"`).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (let i = start + 2; i < lines.length && lines[i].startsWith("|"); i++) {
    rows.push(lines[i].split("|").slice(1, -1).map((c) => c.trim()));
  }
  return rows;
}

/** `[1, 10⁹]`, `[0, ∞)`, `[1e-6, 1]` → [min, max]. */
function parseRange(text: string): [number, number] {
  const num = (s: string) => (s === "∞" ? Infinity : Number(s.replace(/10⁹/, "1e9")));
  const m = /^\[([^,]+), ([^\])]+)[\])]$/.exec(text);
  expect(m, `a range: ${text}`).not.toBeNull();
  return [num(m![1].trim()), num(m![2].trim())];
}

const firstCode = (cell: string) => /`([a-z0-9_]+)/.exec(cell)?.[1];

describe("docs/language.md says what the catalogue says", () => {
  it("the algorithm table: algorithms, their tasks, hyperparameters, types, ranges and defaults", () => {
    const documented: Record<string, { tasks: string[]; params: Record<string, unknown> }> = {};
    let current = "";
    for (const [alg, tasks, param, type, range, dflt] of tableRows("| algorithm | tasks |")) {
      if (alg) {
        current = firstCode(alg)!;
        if (current === "onnx") continue;
        documented[current] = { tasks: tasks.split(", "), params: {} };
      }
      const [min, max] = parseRange(range);
      documented[current].params[firstCode(param)!] = { type, min, max, default: Number(dflt) };
    }
    const catalogue = Object.fromEntries(
      Object.entries(ALGORITHMS).map(([name, a]) => [name, { tasks: [...a.tasks], params: a.params }]),
    );
    expect(documented).toEqual(catalogue);
  });

  it("the metric table", () => {
    const documented = Object.fromEntries(
      tableRows("| task | metrics |").map(([task, metrics]) => [task, [...metrics.matchAll(/`([a-z0-9_]+)`/g)].map((m) => m[1])]),
    );
    expect(documented).toEqual(Object.fromEntries(TASKS.map((t) => [t, metricsOf(t)])));
  });

  it("the MDT table", () => {
    const documented = [...new Set(tableRows("| MDT | arguments |").map(([mdt]) => firstCode(mdt)))];
    expect(documented.sort()).toEqual([...MDT_KINDS].sort());
  });
});

describe("the runtime does what the catalogue lists", () => {
  it("computeMetrics gives exactly the metrics of the task", () => {
    const y = new Float64Array([0, 1, 1, 0]);
    const p = new Float64Array([0.2, 0.7, 0.6, 0.4]);
    for (const task of TASKS) expect(Object.keys(computeMetrics(task, y, p))).toEqual(metricsOf(task));
    // every metric belongs to a task (logloss and accuracy to both classification tasks)
    expect(Object.keys(METRICS).sort()).toEqual([...new Set(TASKS.flatMap((t) => metricsOf(t)))].sort());
  });

  it("every algorithm trains the tasks the catalogue gives it, and refuses the others", () => {
    const n = 40;
    const X = new Float32Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      X[i] = i / n;
      y[i] = i % 3 === 0 ? 1 : 0;
    }
    for (const alg of Object.keys(ALGORITHMS) as BuiltinAlgorithm[]) {
      for (const task of TASKS) {
        const does = (ALGORITHMS[alg].tasks as readonly Task[]).includes(task);
        const train = () => trainModel(alg, task, X, n, 1, y, { trees: 2 });
        if (does) expect(train().kind).toBe(alg);
        else expect(train).toThrow(/regression|binary_classification/);
      }
      expect(DEFAULT_PARAMS[alg]).toEqual(defaultParams(alg));
    }
  });

  it("a model without hyperparameters gets the catalogue's defaults in its compiled plan", async () => {
    const dir = tempDir();
    const spec = `${dir}/defaults.fti`;
    fs.writeFileSync(`${dir}/runs.csv`, "athlete_id,start_time,minutes,finished\n1,2025-01-01T00:00:00Z,30,true\n");
    const label = (task: Task) => (task === "regression" ? "minutes" : "done");
    fs.writeFileSync(
      spec,
      [
        'source runs { path "runs.csv"  event_time start_time',
        "  fields { athlete_id: int  start_time: timestamp  minutes: float  finished: bool } }",
        "entity athlete { key athlete_id: int }",
        "feature_group load for athlete from runs { total_7d = sum(minutes) over 7d }",
        ...TASKS.map((t) => `view v_${t} for athlete { label ${label(t)} = runs.${t === "regression" ? "minutes" : "finished"}  features load.total_7d }`),
        ...(Object.keys(ALGORITHMS) as BuiltinAlgorithm[]).map((alg) => {
          const task = ALGORITHMS[alg].tasks[0];
          return `model m_${alg} { view v_${task}  task ${task}  algorithm ${alg}  transform total_7d: impute(mean) }`;
        }),
      ].join("\n"),
    );
    const result = await compileSpec(spec, { checkOnly: true });
    expect(result.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    for (const alg of Object.keys(ALGORITHMS) as BuiltinAlgorithm[]) {
      const model = result.ir!.models.find((m) => m.name === `m_${alg}`)!;
      expect(model.algorithm).toEqual({ kind: alg, params: defaultParams(alg) });
    }
  });
});
