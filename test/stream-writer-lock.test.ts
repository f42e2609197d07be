// The one-writer rule of a stream: the lock file in its segment directory.
// A second taker is refused with the holder named; a lock left by a process
// that is gone (kill -9) is taken over; a release removes only its own lock.
// (Two servers on one store, and the Redis lease across machines, are in
// test/online-redis.test.ts.)

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FileWriterLock } from "../runtime/stream/writer-lock.ts";

const dirs: string[] = [];
const dir = () => {
  const d = mkdtempSync(join(tmpdir(), "fti-lock-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
}

describe("FileWriterLock", () => {
  it("the second taker is refused with the holder named, until the first releases", async () => {
    const d = dir();
    const first = new FileWriterLock(d);
    const second = new FileWriterLock(d);
    expect(await first.acquire()).toBeNull();
    const refused = await second.acquire();
    expect(refused).toContain(`process ${process.pid} on ${hostname()}`);
    await second.release(); // not held: leaves the first's lock alone
    expect(JSON.parse(readFileSync(first.file, "utf8")).pid).toBe(process.pid);
    await first.release();
    expect(await second.acquire()).toBeNull();
    await second.release();
  });

  it("takes over a lock whose process is gone (kill -9), not one whose process lives", async () => {
    const d = dir();
    const lock = new FileWriterLock(d);
    writeFileSync(lock.file, JSON.stringify({ pid: deadPid(), host: hostname(), since: "2026-01-01T00:00:00.000Z", token: "gone" }));
    expect(await lock.acquire()).toBeNull();
    expect(JSON.parse(readFileSync(lock.file, "utf8")).pid).toBe(process.pid);
    await lock.release();
    // a live process (the one that started this test), and a process of another host (liveness unknown): refused
    writeFileSync(lock.file, JSON.stringify({ pid: process.ppid, host: hostname(), since: "2026-01-01T00:00:00.000Z", token: "live" }));
    expect(await new FileWriterLock(d).acquire()).toContain(`process ${process.ppid}`);
    writeFileSync(lock.file, JSON.stringify({ pid: deadPid(), host: "elsewhere", since: "2026-01-01T00:00:00.000Z", token: "far" }));
    expect(await new FileWriterLock(d).acquire()).toContain("on elsewhere");
  });

  it("an unreadable lock (not JSON) is taken over", async () => {
    const d = dir();
    const lock = new FileWriterLock(d);
    writeFileSync(lock.file, "garbage");
    expect(await lock.acquire()).toBeNull();
    await lock.release();
  });
});
