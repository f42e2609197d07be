// The athlete example through the commands a user runs: `fti serve` as a
// child process (every answered request is in the log after SIGTERM, exit
// 0), `fti materialize`, `fti verify` (0 on clean data, exit 1 after an
// online value is corrupted), served = batch predictions, and the generated
// client over HTTP and in process.

import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { handleError } from "../compiler/cli/main.ts";
import { loadCompiledSpec } from "../compiler/cli/load.ts";
import { registerMonitorCommands } from "../runtime/cli/monitor-commands.ts";
import { registerOnlineCommands } from "../runtime/cli/online-commands.ts";
import { predictBatch } from "../runtime/inference/batch.ts";
import { startServer } from "../runtime/online/http.ts";
import { readRequestLog } from "../runtime/online/log.ts";
import { OnlineService } from "../runtime/online/service.ts";
import type { OnlinePrediction } from "../runtime/online/types.ts";
import { buildAthleteWork, spawnFti, type AthleteWork } from "./helpers/online-athlete.ts";
import { writeClient } from "./helpers/online-client.ts";

// Until runtime/api.ts re-exports the online API, give the generated client's "fti/runtime" the same exports.
vi.mock("fti/runtime", async (importOriginal) => ({
  ...(await importOriginal<object>()),
  ...(await import("../runtime/online/public.ts")),
}));

let work: AthleteWork;
const served: Array<{ request: Record<string, unknown>; answer: OnlinePrediction }> = [];

function planned(athlete: string, i: number) {
  return { athlete_id: athlete, planned_pace_min_km: 4.5 + (i % 7) * 0.25, distance_km: [5, 10, 21.1, 42.2][i % 4], elevation_gain_m: (i % 5) * 40 };
}

/**
 * `fti <args>` in this process: the online commands registered on a fresh
 * program as the CLI does (a child process costs seconds; `fti serve` above
 * runs as one). The spec loader compiles into the work directory.
 */
async function fti(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let code = 0;
  const program = new Command("fti").exitOverride();
  const deps = {
    loadSpec: (p: string) => loadCompiledSpec(p, { outDir: join(work.root, "generated/athlete"), quiet: true }),
    exit: (c: number) => (code = Math.max(code, c)),
  };
  registerOnlineCommands(program, deps);
  registerMonitorCommands(program, deps);
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((t) => ((stdout += String(t)), true));
  const err = vi.spyOn(process.stderr, "write").mockImplementation((t) => ((stderr += String(t)), true));
  try {
    await program.parseAsync(["node", "fti", ...args.map((a) => (a === "athlete.fti" ? work.specPath : a)), "--store", work.storePath]);
  } catch (e) {
    code = handleError(e);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return { code, stdout, stderr };
}

beforeAll(async () => {
  work = await buildAthleteWork({ athletes: 10 });
  await writeClient(work.specPath, join(work.root, "generated/athlete"));
}, 120_000);

afterAll(() => work?.cleanup());

describe("fti serve", () => {
  it("answers over HTTP; on SIGTERM it stops accepting, flushes the log with every answered request, and exits 0", async () => {
    const t0 = Date.now();
    const mark = (what: string) => process.env.FTI_TEST_TIMING && console.log(`${what} at ${Date.now() - t0} ms`);
    const child = spawnFti(["serve", "athlete.fti", "--port", "0", "--log-level", "warn"], work.root);
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
    const url = await new Promise<string>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`fti serve did not start: ${stderr}`)), 45_000);
      child.stderr!.on("data", () => {
        const m = /serving .* at (http:\/\/\S+)/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          done(m[1]);
        }
      });
      child.on("exit", (code) => fail(new Error(`fti serve exited with ${code}: ${stderr}`)));
    });
    const send = (body: unknown) =>
      fetch(`${url}/v1/models/time_estimator/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then(
        async (r) => ({ status: r.status, body: (await r.json()) as any }),
        () => ({ status: 0, body: null }),
      );
    mark("listening");
    // The command mounts the monitoring page (runtime/monitor-page, handed in by the composition root).
    const monitorPage = await fetch(`${url}/monitor/time_estimator`);
    expect(monitorPage.status).toBe(200);
    expect(await monitorPage.text()).toContain("<h1>monitor · time_estimator</h1>");
    expect(await (await fetch(`${url}/`)).text()).toContain(`href="/monitor/time_estimator"`);
    // One request per athlete first (kept for the batch comparison), then a burst with SIGTERM in the middle.
    for (const [i, a] of work.athletes.entries()) {
      const request = planned(a, i);
      const r = await send(request);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      served.push({ request, answer: r.body });
    }
    expect((await send({ athlete_id: "nobody", planned_pace_min_km: 5, distance_km: 10, elevation_gain_m: 0 })).status).toBe(422);
    expect((await send({ athlete_id: "a0001" })).status).toBe(400);
    const burst = Array.from({ length: 40 }, (_, i) => send(planned(work.athletes[i % work.athletes.length], i)));
    await Promise.race(burst);
    mark("first of the burst answered");
    child.kill("SIGTERM");
    const answers = await Promise.all(burst);
    mark("burst done");
    expect(await exited).toBe(0);
    mark("exited");
    expect(stderr).toContain("SIGTERM: stopping");
    // No warning of a library on the user's terminal (a Fastify option given the deprecated way printed FSTDEP022 at start).
    expect(stderr).not.toMatch(/FastifyWarning|DeprecationWarning|FSTDEP/);

    const ok = [...served.map((s) => s.answer.request_id), ...answers.filter((a) => a.status === 200).map((a) => a.body.request_id as string)];
    expect(ok.length).toBeGreaterThan(work.athletes.length);
    const logged = readRequestLog(work.logsDir, "time_estimator");
    expect(logged.badLines).toBe(0);
    expect(logged.entries.map((e) => e.id).sort()).toEqual(ok.sort());
    // Everything not answered 200 was refused while closing (503) or never connected.
    for (const a of answers) expect([0, 200, 503]).toContain(a.status);
    const first = logged.entries.find((e) => e.id === served[0].answer.request_id)!;
    expect(first).toMatchObject({ model: "time_estimator", version: 1, request: served[0].request, prediction: served[0].answer.prediction });
    expect(first.features).toEqual(served[0].answer.features);
    expect(first.odts).toEqual(served[0].answer.odts);
  }, 60_000);

  it("served predictions equal batch inference for the same entities and inputs", async () => {
    expect(served.length).toBe(work.athletes.length);
    const file = join(work.root, "planned.ndjson");
    writeFileSync(file, served.map((s) => JSON.stringify(s.request)).join("\n") + "\n");
    const asOf = new Date(served[0].answer.request_time);
    await work.withStore((store) => predictBatch(store, work.bundle, "time_estimator", { asOf, entitiesFile: file }));
    const rows = await work.withStore((store) =>
      store.all<{ athlete_id: string; prediction: number }>(`SELECT athlete_id, prediction FROM predictions.time_estimator WHERE as_of = ?`, [asOf]),
    );
    const byAthlete = new Map(rows.map((r) => [r.athlete_id, r.prediction]));
    for (const s of served) expect(s.answer.prediction, String(s.request.athlete_id)).toBe(byAthlete.get(s.request.athlete_id as string));
  });
});

describe("fti materialize and fti verify", () => {
  it("materialize: a second run writes nothing; verify: 0 mismatches on clean data, exit 0", async () => {
    const m = await fti(["materialize", "athlete.fti"]);
    expect(m.stderr).toBe("");
    expect(m.code).toBe(0);
    expect(m.stdout).toContain("group fitness v1 → online_fitness_v1: 10 entities; unchanged since the last run");
    const v = await fti(["verify", "athlete.fti", "time_estimator"]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/verify time_estimator \(view time_estimator_data\): \d+ logged requests/);
    expect(v.stdout).toMatch(/^ {2}ctl_42d +feature +\d+ +0 +0%$/m);
    expect(v.stdout).toContain("✓ 0 mismatches");
  }, 60_000);

  it("verify exits 1 and names the feature after one online value is corrupted", async () => {
    const victim = work.athletes[3];
    await work.withStore(async (store) => {
      await store.run(`UPDATE online_profile_v1 SET hr_max = hr_max + 5 WHERE athlete_id = ?`, [victim]);
      await store.run(`UPDATE fti_online_state SET changed_at = now()`);
    });
    const svc = await OnlineService.open(work.bundle, { store: work.storePath, logs: work.logsDir });
    try {
      const r = await svc.predict("time_estimator", planned(victim, 1));
      expect(r.status).toBe(200);
    } finally {
      await svc.close();
    }
    const v = await fti(["verify", "athlete.fti", "time_estimator", "--json"]);
    expect(v.code).toBe(1);
    const report = JSON.parse(v.stdout);
    // A group the stream does not compute (the streamed ones, e.g. fitness, are served from the stream's state, rebuilt at start).
    const hr = report.features.find((f: { name: string }) => f.name === "hr_max");
    expect(hr.mismatches).toBe(1);
    expect(hr.examples[0].entity).toEqual({ athlete_id: victim });
    expect(hr.examples[0].logged - hr.examples[0].recomputed).toBeCloseTo(5, 9);
    expect(report.features.find((f: { name: string }) => f.name === "pace_28d").mismatches).toBe(0);
    expect(report.mismatchedRequests).toBe(1);
    const since = await fti(["verify", "athlete.fti", "time_estimator", "--since", new Date(Date.now() + 1000).toISOString()]);
    expect(since.code).toBe(0);
    expect(since.stdout).toContain("0 logged requests");
    expect(since.stdout).toContain("– nothing compared");
    expect(since.stdout).not.toContain("✓"); // nothing was shown equal
    expect(since.stderr).toContain("warning: no logged requests");
    const bad = await fti(["verify", "athlete.fti", "time_estimator", "--since", "yesterday"]);
    expect(bad).toMatchObject({ code: 2, stderr: expect.stringContaining("--since yesterday: expected a date or timestamp") });
    // Put the value back for the tests below.
    await work.withStore(async (store) => {
      await store.run(`UPDATE online_profile_v1 SET hr_max = hr_max - 5 WHERE athlete_id = ?`, [victim]);
      await store.run(`UPDATE fti_online_state SET changed_at = now()`);
    });
  }, 60_000);
});

describe("fti monitor", () => {
  it("reports the served log per window; --fail-on exits 1 on a breach and refuses an unknown measure", async () => {
    const logged = readRequestLog(work.logsDir, "time_estimator").entries.length;
    expect(logged).toBeGreaterThan(0);
    const r = await fti(["monitor", "athlete.fti", "time_estimator", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.windows.reduce((s: number, w: { requests: number }) => s + w.requests, 0)).toBe(logged);
    const names = report.windows[0].features.map((f: { name: string }) => f.name);
    expect(names).toEqual(work.bundle.models.find((m) => m.name === "time_estimator")!.inputs.map((i) => i.name));
    expect(report.windows[0].features.every((f: { psi: number | null }) => f.psi === null || f.psi >= 0)).toBe(true);
    const text = await fti(["monitor", "athlete.fti", "time_estimator", "--window", "6h"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^monitor time_estimator: \d+ windows? of 6 h/m);
    expect(text.stdout).toMatch(/^ {4}pace_deviation +\d+ +[\d.]+% /m);
    const breach = await fti(["monitor", "athlete.fti", "time_estimator", "--fail-on", "psi>=0"]);
    expect(breach.code).toBe(1);
    expect(breach.stdout).toMatch(/✗ \d+ threshold breach/);
    const quiet = await fti(["monitor", "athlete.fti", "time_estimator", "--fail-on", "psi>1e9,mae>1e9"]);
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toContain("✓ no threshold crossed");
    const typo = await fti(["monitor", "athlete.fti", "time_estimator", "--fail-on", "pis>0.2"]);
    expect(typo).toMatchObject({ code: 2, stderr: expect.stringContaining("unknown measure `pis`") });
    const window = await fti(["monitor", "athlete.fti", "time_estimator", "--window", "1 day"]);
    expect(window).toMatchObject({ code: 2, stderr: expect.stringContaining("--window 1 day: expected a duration") });
  }, 60_000);
});

describe("the generated client", () => {
  it("predictTimeEstimator over HTTP and createLocalClient in process give the service's answer", async () => {
    const client = await import(pathToFileURL(join(work.root, "generated/athlete/client.ts")).href);
    const server = await startServer(work.bundle, { port: 0, store: work.storePath, logs: false });
    const local = await client.createLocalClient({ store: work.storePath, logs: false });
    try {
      const req = planned(work.athletes[0], 2);
      const http = await client.predictTimeEstimator(req, { baseUrl: server.url });
      const inproc = await local.predictTimeEstimator(req);
      expect(http.model).toBe("time_estimator");
      expect(typeof http.prediction).toBe("number");
      expect(inproc.prediction).toBe(http.prediction);
      expect(inproc.features).toEqual(http.features);
      const batch = await client.predictTimeEstimatorBatch([req, planned(work.athletes[1], 3)], { baseUrl: server.url });
      expect(batch.predictions[0].prediction).toBe(http.prediction);
      const err = await client.predictTimeEstimator({ ...req, athlete_id: "nobody" }, { baseUrl: server.url }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(client.PredictError);
      expect(err).toMatchObject({ status: 422, code: "missing_features" });
      const bad = await local.predictTimeEstimator({ ...req, distance_km: "ten" }).catch((e: unknown) => e);
      expect(bad).toMatchObject({ status: 400, issues: [{ path: ["distance_km"] }] });

      // Latency of one prediction on the athlete model: in process vs HTTP (printed for the record).
      const n = 200;
      let t = performance.now();
      for (let i = 0; i < n; i++) await local.predictTimeEstimator(req);
      const inMs = (performance.now() - t) / n;
      t = performance.now();
      for (let i = 0; i < n; i++) await client.predictTimeEstimator(req, { baseUrl: server.url });
      const httpMs = (performance.now() - t) / n;
      console.log(`latency (time_estimator, mean of ${n}): in-process ${inMs.toFixed(3)} ms, HTTP ${httpMs.toFixed(3)} ms`);
    } finally {
      await local.close();
      await server.close();
    }
  }, 60_000);

  it("imported directly by a program, it refuses a hand-edited transforms.ts before any model is used (#7)", async () => {
    // A program of the user's: node imports client.ts (no fti CLI, no spec loader) and opens the local client.
    const program = `
      const client = await import(${JSON.stringify(pathToFileURL(join(work.root, "generated/athlete/client.ts")).href)});
      try {
        const local = await client.createLocalClient({ store: ${JSON.stringify(work.storePath)}, logs: false });
        const answer = await local.predictTimeEstimator(${JSON.stringify(planned(work.athletes[0], 1))});
        await local.close();
        console.log("served " + answer.prediction);
      } catch (e) {
        console.log("refused: " + e.message);
      }`;
    const run = () => {
      const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", program], { cwd: work.root, encoding: "utf8" });
      return r.stdout.trim() || r.stderr;
    };
    const file = join(work.root, "generated/athlete/transforms.ts");
    const text = readFileSync(file, "utf8");
    expect(text).toContain("60));");
    expect(run()).toMatch(/^served \d/);
    try {
      writeFileSync(file, text.replace("60));", "61));"));
      expect(run()).toMatch(/^refused: .*generated\/athlete\/transforms\.ts was changed after it was generated/);
    } finally {
      writeFileSync(file, text);
    }
  }, 180_000); // two cold processes (tsx loading the generated client): minutes on a loaded machine
});
