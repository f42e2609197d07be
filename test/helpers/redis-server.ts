// Real Redis servers for the tests, started by the test itself on free
// loopback ports with their files in a temp dir: one standalone server, or a
// Redis Cluster of n masters (redis-server --cluster-enabled yes, then
// `redis-cli --cluster create … --cluster-replicas 0 --cluster-yes`).
// .ci/run installs redis-server (Debian's package brings redis-cli).

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const hasRedis = spawnSync("redis-server", ["--version"]).status === 0 && spawnSync("redis-cli", ["--version"]).status === 0;
export const noRedisReason = "redis-server and redis-cli are not installed (.ci/run installs them: apt-get install redis-server)";

export async function freePort(): Promise<number> {
  return new Promise((done) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => done(port));
    });
  });
}

export interface RedisProcess {
  /** The --online-store URL. */
  url: string;
  ports: number[];
  /** SIGKILLs one node (by index) — a store that goes away. */
  kill(i?: number): void;
  /** Starts a killed standalone server again on its port. */
  restart(): Promise<void>;
  stop(): void;
}

const cli = (port: number, ...args: string[]) => spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args], { encoding: "utf8" });

async function waitFor(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function startNode(dir: string, port: number, extra: string[] = [], persistent = false): ChildProcess {
  const durability = persistent ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"];
  return spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", ...durability, ...extra], { stdio: "ignore" });
}

/** A standalone server; `persistent`: an append-only file synced per write, so a killed server restarts with its data. */
export async function startRedis(opts: { persistent?: boolean } = {}): Promise<RedisProcess> {
  const dir = mkdtempSync(join(tmpdir(), "fti-redis-"));
  const port = await freePort();
  const persistent = opts.persistent ?? false;
  let proc = startNode(dir, port, [], persistent);
  const up = () => waitFor(`redis-server on ${port}`, () => cli(port, "ping").stdout.trim() === "PONG");
  await up();
  return {
    url: `redis://127.0.0.1:${port}`,
    ports: [port],
    kill: () => proc.kill("SIGKILL"),
    restart: async () => {
      proc = startNode(dir, port, [], persistent);
      await up();
    },
    stop: () => {
      proc.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startRedisCluster(n = 3): Promise<RedisProcess> {
  const dir = mkdtempSync(join(tmpdir(), "fti-redis-cluster-"));
  const ports: number[] = [];
  for (let i = 0; i < n; i++) ports.push(await freePort());
  const procs = ports.map((p) => startNode(dir, p, ["--cluster-enabled", "yes", "--cluster-config-file", `nodes-${p}.conf`, "--cluster-node-timeout", "3000"]));
  const stop = () => {
    for (const p of procs) p.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const p of ports) await waitFor(`redis-server on ${p}`, () => cli(p, "ping").stdout.trim() === "PONG");
    const create = spawnSync("redis-cli", ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "0", "--cluster-yes"], { encoding: "utf8" });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    for (const p of ports) await waitFor(`cluster state ok on ${p}`, () => /cluster_state:ok/.test(cli(p, "cluster", "info").stdout));
  } catch (e) {
    stop();
    throw e;
  }
  return {
    url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(",")}`,
    ports,
    kill: (i = 0) => procs[i].kill("SIGKILL"),
    restart: () => Promise.reject(new Error("restart: standalone servers only")),
    stop,
  };
}
