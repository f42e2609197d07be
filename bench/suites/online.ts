// online: `fti serve` (Fastify) under load from autocannon in a separate
// process, against the floor: the same OnlineService called in process.
//
//   - latency at a fixed 1,000 req/s (p50/p99 of every 2xx answer, measured
//     from autocannon's per-response hrtime, so sub-millisecond)   goal p99 ≤ 2 ms
//   - the most req/s the server answers (32 connections, no rate)   goal ≥ 5,000 req/s
//   - 5% of the requests are bad (malformed JSON, a wrong type, a missing or
//     unknown field, an unknown entity, an unknown model): each must get a
//     4xx, every good one a 200, and no answer may be a 5xx.
//
// The server serves the batch suite's store (1 M athletes, model
// `finish_time`), after `materialize`, with its request time pinned to the
// data's as-of time (`--now`) and its request log on, as deployed.

import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { materialize } from "../../runtime/online/materialize.ts";
import { OnlineService } from "../../runtime/online/service.ts";
import { openStore } from "../../runtime/store/store.ts";
import { ensureActivities, sqlStr, type ActivitiesData } from "../lib/data.ts";
import { openRefDb, rows } from "../lib/duck.ts";
import { fmtInt, fmtKB, fmtMs, run, runNodeTask, type Sample } from "../lib/harness.ts";
import type { Measured } from "../lib/report.ts";
import { BIN, ensureCompiled, GEN_DIR, GEN_ROOT, generatedHash, loadBundle, SPEC_FILE } from "../lib/spec.ts";
import type { Ctx, Suite } from "../lib/suite.ts";
import { ensureBatchStore } from "./batch.ts";

const MODEL = "finish_time";
const PATH = `/v1/models/${MODEL}/predict`;

/** Percentile of sorted values (nearest rank). */
function pct(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Request bodies: valid ones for random entities, and the bad kinds mixed in. */
function bodies(ids: string[], n: number): string[] {
  let s = 12345;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const km = [5, 10, 21.1, 42.2];
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(JSON.stringify({ athlete_id: ids[Math.floor(rnd() * ids.length)], distance_km: km[i % 4] }));
  return out;
}

const BAD: Array<{ path: string; body: string; why: string }> = [
  { path: PATH, body: '{"athlete_id": "a0000001", "distance_km": ', why: "malformed JSON" },
  { path: PATH, body: '{"athlete_id": "a0000001", "distance_km": "ten"}', why: "wrong type" },
  { path: PATH, body: '{"athlete_id": "a0000001"}', why: "missing field" },
  { path: PATH, body: '{"athlete_id": "a0000001", "distance_km": 10, "pace": 5}', why: "unknown field" },
  { path: PATH, body: '{"athlete_id": "nobody", "distance_km": 10}', why: "unknown entity" },
  { path: "/v1/models/nope/predict", body: '{"athlete_id": "a0000001", "distance_km": 10}', why: "unknown model" },
];

interface LoadArgs {
  url: string;
  /** JSON file of entity ids. */
  ids: string;
  rate?: number;
  connections: number;
  seconds: number;
  badEvery: number;
}

interface LoadResult {
  sent: number;
  good: number;
  bad: number;
  goodNot200: number;
  badNot4xx: number;
  s5xx: number;
  errors: number;
  timeouts: number;
  reqPerSec: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  acP99: number;
  statusCodes: Record<string, number>;
}

interface FloorArgs {
  data: ActivitiesData;
  store: string;
  asOf: string;
  /** JSON file of entity ids. */
  ids: string;
  n: number;
}

export const tasks = {
  /** A sample of entity ids from the entities file, written to `out` (JSON). */
  async ids(a: { data: ActivitiesData; n: number; out: string }): Promise<Record<string, unknown>> {
    const db = await openRefDb(":memory:");
    try {
      const r = await rows<{ athlete_id: string }>(
        db.conn,
        `SELECT athlete_id FROM read_parquet(${sqlStr(a.data.entitiesParquet)}) USING SAMPLE ${a.n} ROWS (reservoir, 7)`,
      );
      writeFileSync(a.out, JSON.stringify(r.map((x) => x.athlete_id)));
      return { ms: 0, cpuMs: 0, n: r.length };
    } finally {
      db.close();
    }
  },

  /** The online tables of the batch store (latest feature row per athlete). */
  async materialize(a: { data: ActivitiesData; store: string; memoryLimit: string }): Promise<Record<string, unknown>> {
    const bundle = await loadBundle(a.data);
    const store = await openStore({ path: a.store, memoryLimit: a.memoryLimit });
    try {
      const r = await materialize(store, bundle);
      return { ms: r.ms, cpuMs: 0, groups: r.groups.map((g) => ({ group: g.group, entities: g.entities })) };
    } finally {
      await store.close();
    }
  },

  /** autocannon against the server, from this separate process. */
  async load(a: LoadArgs): Promise<Record<string, unknown>> {
    const spec: string = "autocannon"; // untyped package: a non-literal specifier keeps tsc from asking for its types
    const { default: autocannon } = (await import(spec)) as {
      default: (opts: Record<string, unknown>) => Promise<Record<string, any>> & { on(ev: string, fn: (...x: any[]) => void): void };
    };
    const good = bodies(JSON.parse(readFileSync(a.ids, "utf8")) as string[], 50_000);
    let k = 0;
    const kinds: Array<"good" | "bad"> = [];
    const lat: number[] = [];
    const r: Omit<LoadResult, "reqPerSec" | "p50" | "p99" | "p999" | "max" | "acP99" | "statusCodes" | "errors" | "timeouts"> = {
      sent: 0,
      good: 0,
      bad: 0,
      goodNot200: 0,
      badNot4xx: 0,
      s5xx: 0,
    };
    const inst = autocannon({
      url: a.url,
      connections: a.connections,
      duration: a.seconds,
      ...(a.rate ? { overallRate: a.rate } : {}),
      requests: [
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          setupRequest(req: Record<string, unknown>, ctx: Record<string, unknown>) {
            const i = k++;
            r.sent++;
            if (i % a.badEvery === a.badEvery - 1) {
              const b = BAD[Math.floor(i / a.badEvery) % BAD.length];
              ctx.kind = "bad";
              return { ...req, path: b.path, body: b.body };
            }
            ctx.kind = "good";
            return { ...req, path: PATH, body: good[i % good.length] };
          },
          onResponse(status: number, _body: string, ctx: Record<string, unknown>) {
            kinds.push(ctx.kind as "good" | "bad");
            if (status >= 500) r.s5xx++;
            if (ctx.kind === "good") {
              r.good++;
              if (status !== 200) r.goodNot200++;
            } else {
              r.bad++;
              if (status < 400 || status >= 500) r.badNot4xx++;
            }
          },
        },
      ],
    });
    inst.on("response", (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status === 200) lat.push(ms);
    });
    const res = await inst;
    const sorted = Float64Array.from(lat).sort();
    const codes: Record<string, number> = {};
    for (const [c, v] of Object.entries((res.statusCodeStats ?? {}) as Record<string, { count: number | string }>)) codes[c] = Number(v.count);
    const total = Object.values(codes).reduce((s, x) => s + x, 0);
    const out: LoadResult = {
      ...r,
      errors: Number(res.errors),
      timeouts: Number(res.timeouts),
      reqPerSec: total / Number(res.duration),
      p50: pct(sorted, 50),
      p99: pct(sorted, 99),
      p999: pct(sorted, 99.9),
      max: sorted[sorted.length - 1] ?? NaN,
      acP99: Number(res.latency?.p99),
      statusCodes: codes,
    };
    return { ...out, ms: 0, cpuMs: 0 };
  },

  /** The floor: OnlineService.predict in this process, one request at a time. */
  async floor(a: FloorArgs): Promise<Sample> {
    const bundle = await loadBundle(a.data);
    const asOf = new Date(a.asOf).getTime();
    const service = await OnlineService.open(bundle, { store: a.store, logs: false, watch: false, now: () => asOf });
    try {
      const reqs = bodies(JSON.parse(readFileSync(a.ids, "utf8")) as string[], a.n).map((b) => JSON.parse(b) as unknown);
      const warm = Math.min(2000, a.n);
      for (let i = 0; i < warm; i++) await service.predict(MODEL, reqs[i]);
      const lat = new Float64Array(a.n);
      let not200 = 0;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < a.n; i++) {
        const s = performance.now();
        const res = await service.predict(MODEL, reqs[i]);
        lat[i] = performance.now() - s;
        if (res.status !== 200) not200++;
      }
      const ms = performance.now() - t0;
      const c = process.cpuUsage(c0);
      lat.sort();
      return {
        ms: pct(lat, 50),
        cpuMs: (c.user + c.system) / 1000 / a.n,
        rssKB: 0,
        p99: pct(lat, 99),
        p999: pct(lat, 99.9),
        reqPerSec: a.n / (ms / 1000),
        not200,
        n: a.n,
      };
    } finally {
      await service.close();
    }
  },
};

/** Peak RSS of a running process (Linux). */
function vmHwmKB(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

async function startServe(args: string[], cwd: string): Promise<{ child: ChildProcess; url: string; log: () => string }> {
  const child = spawn(process.execPath, [BIN, "serve", ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (err += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`fti serve did not start in 600 s:\n${err}`)), 600_000);
    const poll = setInterval(() => {
      const m = /serving .* at (http:\/\/[^\s)]+)/.exec(err);
      if (m) {
        clearInterval(poll);
        clearTimeout(timer);
        done(m[1]);
      }
    }, 100);
    child.on("exit", (code) => {
      clearInterval(poll);
      clearTimeout(timer);
      fail(new Error(`fti serve exited with ${code}:\n${err}`));
    });
  });
  return { child, url, log: () => err };
}

async function stopServe(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  return new Promise((done) => {
    child.once("exit", (code) => done(code));
    child.kill("SIGTERM");
  });
}

export const suite: Suite = {
  name: "online",
  describe: "fti serve under autocannon (1,000 req/s latency, max req/s, bad requests) vs in-process predict",
  async run(ctx: Ctx) {
    const S = "online";
    const help = await run(process.execPath, [BIN, "serve", "--help"]);
    if (help.code !== 0) {
      ctx.out.note(S, "skipped: `fti serve` does not exist in this build");
      return;
    }
    const data: ActivitiesData = await ensureActivities(ctx.batchActs, { csv: false });
    await ensureCompiled();
    const work = ctx.work(S);
    const { store, asOf } = await ensureBatchStore(ctx, data);
    const marker = `${store}.online`;
    const hash = generatedHash();
    if (!existsSync(marker) || readFileSync(marker, "utf8") !== hash) {
      process.stderr.write(`  · online: materializing the online tables of ${store}\n`);
      await runNodeTask("online.materialize", { data, store, memoryLimit: ctx.memoryLimit });
      writeFileSync(marker, hash);
    }
    // A sample of entity ids for the requests.
    const ids = join(work, "ids.json");
    await runNodeTask("online.ids", { data, n: 20_000, out: ids });

    // `fti serve <spec>` loads <cwd>/generated/bench (compiling it when missing or stale). It gets a
    // copy of the bench's compiled code: compiled from another directory, the generated files would
    // name the spec by another relative path in their comments, and TRANSFORMS_HASH, a hash of the
    // file text, would differ from the one the model was trained with (the server would refuse it).
    const cwd = join(GEN_ROOT, "online-cwd");
    rmSync(join(cwd, "generated"), { recursive: true, force: true });
    mkdirSync(join(cwd, "generated"), { recursive: true });
    cpSync(GEN_DIR, join(cwd, "generated", "bench"), { recursive: true });
    process.stderr.write("  · online: starting fti serve\n");
    const t0 = performance.now();
    const server = await startServe(
      [SPEC_FILE, "--store", store, "--port", "0", "--no-watch", "--now", asOf, "--logs", join(work, "logs"), "--log-level", "warn"],
      cwd,
    );
    const startMs = performance.now() - t0;
    const rateSec = ctx.quick ? 2 : 20;
    const maxSec = ctx.quick ? 2 : 15;
    const rate: LoadResult[] = [];
    const max: LoadResult[] = [];
    let rssKB = 0;
    try {
      const load = (a: Partial<LoadArgs>) => runNodeTask<LoadResult>("online.load", { url: server.url, ids, badEvery: 20, connections: 10, seconds: 3, ...a });
      process.stderr.write("  · online: warm-up\n");
      await load({ seconds: ctx.quick ? 1 : 5, connections: 16 });
      for (let r = 0; r < ctx.rounds; r++) {
        process.stderr.write(`  · online: 1,000 req/s for ${rateSec} s (${r + 1}/${ctx.rounds})\n`);
        rate.push(await load({ rate: 1000, connections: 10, seconds: rateSec }));
        process.stderr.write(`  · online: max req/s for ${maxSec} s (${r + 1}/${ctx.rounds})\n`);
        max.push(await load({ connections: 32, seconds: maxSec }));
      }
      rssKB = vmHwmKB(server.child.pid!);
    } finally {
      const code = await stopServe(server.child);
      if (code !== 0) ctx.out.check(S, "fti serve stops cleanly on SIGTERM", false, `exit ${code}\n${server.log().slice(-2000)}`);
    }
    const floorN = ctx.quick ? 3000 : 50_000;
    process.stderr.write(`  · online: in-process floor (${fmtInt(floorN)} requests)\n`);
    const floors: Sample[] = [];
    for (let r = 0; r < ctx.rounds; r++) floors.push(await runNodeTask<Sample>("online.floor", { data, store, asOf, ids, n: floorN }));

    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    const p99 = med(rate.map((x) => x.p99));
    const rps = med(max.map((x) => x.reqPerSec));
    ctx.out.note(S, `${fmtInt(data.athletes)} entities online, request time pinned to ${asOf}; server start ${fmtMs(startMs)}; 1 request in 20 is bad`);
    const served: Measured = {
      suite: S,
      id: "serve",
      label: "fti serve: latency p50 at 1,000 req/s (autocannon)",
      role: "fti",
      ms: rate.map((x) => x.p50),
      cpuMs: [NaN],
      rssKB,
      extra: {},
      note: `p99 ${fmtMs(p99)}, p99.9 ${fmtMs(med(rate.map((x) => x.p999)))}, max ${fmtMs(med(rate.map((x) => x.max)))}; achieved ${fmtInt(med(rate.map((x) => x.reqPerSec)))} req/s`,
    };
    const floor: Measured = {
      suite: S,
      id: "floor",
      label: "floor: OnlineService.predict in process, one at a time",
      role: "floor",
      ms: floors.map((x) => x.ms),
      cpuMs: floors.map((x) => x.cpuMs),
      rssKB: Math.max(...floors.map((x) => x.rssKB)),
      extra: {},
      note: `p99 ${fmtMs(med(floors.map((x) => Number(x.p99))))}, ${fmtInt(med(floors.map((x) => Number(x.reqPerSec))))} req/s sequential`,
    };
    ctx.out.measure(served);
    ctx.out.measure(floor, { vs: served });
    ctx.out.goal(S, "p99 latency at 1,000 req/s", { text: "≤ 2 ms", met: p99 <= 2 }, `${fmtMs(p99)} (median of ${rate.length} runs of ${rateSec} s)`);
    ctx.out.goal(S, "max throughput", { text: "≥ 5,000 req/s", met: rps >= 5000 }, `${fmtInt(rps)} req/s with 32 connections (median of ${max.length} runs of ${maxSec} s)`);
    ctx.out.note(S, `server peak RSS ${fmtKB(rssKB)}`);

    const all = [...rate, ...max];
    const sum = (f: (x: LoadResult) => number) => all.reduce((s, x) => s + f(x), 0);
    const codes: Record<string, number> = {};
    for (const x of all) for (const [c, v] of Object.entries(x.statusCodes)) codes[c] = (codes[c] ?? 0) + v;
    ctx.out.check(
      S,
      "bad requests get a 4xx, good ones a 200, never a 5xx",
      sum((x) => x.s5xx) === 0 && sum((x) => x.goodNot200) === 0 && sum((x) => x.badNot4xx) === 0 && sum((x) => x.bad) > 0 && sum((x) => x.errors) === 0,
      `${fmtInt(sum((x) => x.good))} good (${sum((x) => x.goodNot200)} not 200), ${fmtInt(sum((x) => x.bad))} bad (${sum((x) => x.badNot4xx)} not 4xx), ` +
        `${sum((x) => x.s5xx)} 5xx, ${sum((x) => x.errors)} connection errors; status codes ${JSON.stringify(codes)}`,
    );
    ctx.out.check(S, "in-process predictions succeed", floors.every((f) => Number(f.not200) === 0), `${floors.map((f) => f.not200).join(", ")} non-200 of ${fmtInt(floorN)} per run`);
  },
};
