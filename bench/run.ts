// `npm run bench [suite...] [-- options]`: runs the benchmark suites of
// bench/suites/, fti and its references in the same run, on the same data.
// See docs/benchmarks.md for the suites, the goals and the latest results.
//
//   npm run bench                         every suite at full size (10 M activities; long)
//   npm run bench -- --quick              small sizes, one round: the smoke run `npm test` does
//   npm run bench -- features pit         some suites
//   npm run bench -- features --athletes 100000   (100 M activities: the spill test)
//
// Options: --quick, --athletes N, --activities N (per athlete), --rows N,
// --rounds N, --no-warmup, --no-python, --memory-limit 3GB, --threads N, --max-temp 40GB, --pit-prepare sql,
// --pit-case all|events|planned, --events N, --event-users N, --export-memory 760MB,
// --batch-entities N, --monitor-requests N, --train-rows N, --train-features N (1–12),
// --train-task regression|classification|both|multiclass, --trees N, --spec-lines N, --keep-work,
// --verbose, --json FILE, --md FILE. $FTI_BENCH_DATA moves bench/.data (one
// bench run at a time per data directory: the cached stores are opened
// read-write).

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, freemem, totalmem } from "node:os";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { DATA, fmtMs, loadAverage, pythonHas, ROOT, setVerbose } from "./lib/harness.ts";
import { Reporter } from "./lib/report.ts";
import { workDir, type Ctx, type Suite } from "./lib/suite.ts";

const SUITES = ["compile", "check", "features", "pit", "train", "batch", "online", "online-store", "store-memory", "monitor", "lsp", "retrieval", "stream", "stream-restart"] as const;

async function loadSuite(name: string): Promise<Suite> {
  const mod = (await import(`./suites/${name}.ts`)) as { suite: Suite };
  return mod.suite;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      quick: { type: "boolean", default: false },
      athletes: { type: "string" },
      activities: { type: "string" },
      rows: { type: "string" },
      rounds: { type: "string" },
      "no-warmup": { type: "boolean", default: false },
      "no-python": { type: "boolean", default: false },
      "memory-limit": { type: "string", default: "3GB" },
      threads: { type: "string" },
      "max-temp": { type: "string" },
      "pit-prepare": { type: "string", default: "fti" },
      "pit-case": { type: "string", default: "all" },
      events: { type: "string" },
      "event-users": { type: "string" },
      "export-memory": { type: "string" },
      "batch-entities": { type: "string" },
      "monitor-requests": { type: "string" },
      "train-rows": { type: "string" },
      "train-features": { type: "string" },
      "train-task": { type: "string", default: "both" },
      trees: { type: "string" },
      "spec-lines": { type: "string" },
      "keep-work": { type: "boolean", default: false },
      verbose: { type: "boolean", default: false },
      json: { type: "string" },
      md: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(`usage: npm run bench -- [${SUITES.join("|")} ...] [--quick] [--athletes N] [--activities N] [--rows N]
       [--rounds N] [--no-warmup] [--no-python] [--memory-limit 3GB] [--threads N] [--max-temp 40GB] [--pit-prepare fti|sql]
       [--pit-case all|events|planned] [--events N] [--event-users N] [--export-memory 760MB]
       [--batch-entities N] [--monitor-requests N] [--train-rows N] [--train-features N] [--train-task regression|classification|both|multiclass] [--trees N] [--spec-lines N] [--keep-work] [--verbose] [--json FILE] [--md FILE]\n`);
    return 0;
  }
  const unknown = positionals.filter((p) => !(SUITES as readonly string[]).includes(p));
  if (unknown.length) {
    process.stderr.write(`unknown suite ${unknown.join(", ")}; suites: ${SUITES.join(", ")}\n`);
    return 2;
  }
  const trainTask = values["train-task"]!;
  if (!["regression", "classification", "both", "multiclass"].includes(trainTask)) {
    process.stderr.write(`--train-task ${JSON.stringify(trainTask)}: expected regression, classification, both or multiclass\n`);
    return 2;
  }
  setVerbose(values.verbose);
  const quick = values.quick;
  const num = (s: string | undefined, d: number) => (s === undefined ? d : Number(s.replaceAll("_", "")));
  const runs = num(values.activities, quick ? 300 : 1000);
  const athletes = values.rows !== undefined ? Math.ceil(num(values.rows, 0) / runs) : num(values.athletes, quick ? 200 : 10_000);

  let python = !values["no-python"];
  if (python && !(await pythonHas(["pandas", "sklearn"]))) {
    if (process.env.CI) {
      process.stderr.write("CI is set but /usr/bin/python3 cannot import pandas and sklearn: install python3-pandas python3-sklearn\n");
      return 1;
    }
    python = false;
  }

  const out = new Reporter();
  const ctx: Ctx = {
    quick,
    rounds: num(values.rounds, quick ? 1 : 3),
    warmup: !(values["no-warmup"] || quick),
    python,
    memoryLimit: values["memory-limit"]!,
    threads: values.threads === undefined ? undefined : Number(values.threads),
    maxTemp: values["max-temp"],
    pitPrepare: values["pit-prepare"] === "sql" ? "sql" : "fti",
    pitCase: values["pit-case"] === "events" || values["pit-case"] === "planned" ? values["pit-case"] : "all",
    events: num(values.events, quick ? 100_000 : 3_000_000),
    eventUsers: num(values["event-users"], 300),
    exportMemory: values["export-memory"],
    acts: { athletes, runs },
    batchActs: { athletes: num(values["batch-entities"], quick ? 5_000 : 1_000_000), runs: 4 },
    monitorRequests: num(values["monitor-requests"], quick ? 20_000 : 10_000_000),
    trainRows: num(values["train-rows"], quick ? 20_000 : 1_000_000),
    trainFeatures: num(values["train-features"], 12),
    trainTask: trainTask as Ctx["trainTask"],
    trees: num(values.trees, quick ? 20 : 200),
    bigSpecLines: num(values["spec-lines"], quick ? 300 : 2000),
    out,
    work: workDir,
  };
  const names = positionals.length ? positionals : [...SUITES];
  const started = new Date();
  const command = `npm run bench${process.argv.length > 2 ? " -- " + process.argv.slice(2).join(" ") : ""}`;
  out.note(
    "bench",
    `${started.toISOString()} · ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM (${(freemem() / 2 ** 30).toFixed(1)} free) · ` +
      `load average ${loadAverage().toFixed(1)} · node ${process.version} · ${command}`,
  );
  if (!python) out.note("bench", "python references skipped (--no-python, or /usr/bin/python3 lacks pandas/sklearn)");
  const t0 = performance.now();
  let failed = false;
  for (const name of names) {
    const suite = await loadSuite(name);
    const s0 = performance.now();
    const l0 = loadAverage();
    process.stderr.write(`▶ ${name}: ${suite.describe}\n`);
    try {
      await suite.run(ctx);
    } catch (e) {
      failed = true;
      out.check(name, "suite ran", false, ((e as Error)?.stack ?? String(e)).split("\n").slice(0, 12).join("\n    "));
    }
    out.note(name, `suite done in ${fmtMs(performance.now() - s0)} (load average ${l0.toFixed(1)} → ${loadAverage().toFixed(1)} on ${availableParallelism()} cores)`);
  }
  out.note("bench", `all done in ${fmtMs(performance.now() - t0)}`);
  if (!values["keep-work"]) rmSync(join(DATA, "work", String(process.pid)), { recursive: true, force: true });

  const resultsDir = join(DATA, "results");
  mkdirSync(resultsDir, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, "-");
  const jsonPath = values.json ?? join(resultsDir, `${quick ? "quick" : "full"}-${stamp}.json`);
  const mdPath = values.md ?? join(resultsDir, `${quick ? "quick" : "full"}-${stamp}.md`);
  writeFileSync(jsonPath, JSON.stringify({ started: started.toISOString(), command, ctx: { ...ctx, out: undefined, work: undefined }, lines: out.lines }, null, 2));
  writeFileSync(mdPath, out.markdown());
  process.stderr.write(`results: ${relative(ROOT, jsonPath)}, ${relative(ROOT, mdPath)}\n`);
  return failed || out.failed() ? 1 : 0;
}

process.exitCode = await main();
