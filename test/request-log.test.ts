// The request log on its own: seq numbers and end markers, what the reader
// reports missing (gaps, torn lines, unclean ends), write failures made
// visible and retried without torn lines, the bounded queue, durable mode,
// rotation with compression and the total cap.

import { spawnSync } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RequestLog, SerializedEntry, readRequestLog } from "../runtime/online/log.ts";
import { WORKER_COMPRESS_BYTES, compressLogFile } from "../runtime/online/log-files.ts";
import type { RequestLogEntry } from "../runtime/online/types.ts";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "fti-reqlog-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function entry(i: number, model = "m"): RequestLogEntry {
  return {
    v: 2,
    id: `r-${i}`,
    ts: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    model,
    version: 1,
    request: { k: `e${i}`, pad: "x".repeat(200) },
    features: { f: { value: i, status: "present" } },
    feature_times: { g: null },
    odts: {},
    prediction: i / 2,
  };
}

const quiet = { onError: () => {}, onRecover: () => {} };

describe("request log entries", () => {
  it("numbers entries 1..n per model and process, ends with an end marker; the reader finds no gap", async () => {
    const dir = tempDir();
    const log = new RequestLog(dir, quiet);
    for (let i = 1; i <= 5; i++) log.append(entry(i));
    for (let i = 1; i <= 3; i++) log.append(entry(i, "other"));
    await log.close();
    const r = readRequestLog(dir, "m");
    expect(r.entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(r.entries.map((e) => e.proc))).toEqual(new Set([log.proc]));
    expect(r.processes).toEqual([{ proc: log.proc, entries: 5, lastSeq: 5, ended: true, running: false, reportedLost: 0 }]);
    expect(r).toMatchObject({ gaps: [], missing: 0, badLines: 0 });
    expect(readRequestLog(dir, "other").entries.map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it("writes every line's text as UTF-8 exactly, object entries and serialized ones, whatever their characters and length", async () => {
    const dir = tempDir();
    const log = new RequestLog(dir, quiet);
    // enough lines to fill several of the blocks lines are encoded into
    for (let i = 0; i < 600; i++) log.append({ ...entry(100 + i), request: { k: `ü${"é".repeat(i)}` } });
    const texts = ["Zoë", "東京 🏃‍♀️", "\u2028 \\ \"", "x".repeat(5000) + "é", "ÿ".repeat(20_000)];
    for (const [i, t] of texts.entries()) log.append({ ...entry(i + 1), request: { k: t } });
    const head = `{"v":2,"id":"r-s","ts":"2026-01-01T00:01:00.000Z","model":"m","version":1,"request":{"k":"ßüñ"},"features":{},"feature_times":{},"odts":{},"prediction":1.5`;
    log.append(new SerializedEntry("m", head));
    await log.close();
    const r = readRequestLog(dir, "m");
    const many = Array.from({ length: 600 }, (_, i) => `ü${"é".repeat(i)}`);
    expect(r.entries.map((e) => (e.request as { k: string }).k)).toEqual([...texts, "ßüñ", ...many]);
    expect(r).toMatchObject({ missing: 0, badLines: 0 });
    const file = readdirSync(join(dir, "m"))[0];
    const lines = readFileSync(join(dir, "m", file), "utf8").split("\n");
    expect(lines[600 + texts.length]).toBe(`${head},"proc":${JSON.stringify(log.proc)},"seq":${600 + texts.length + 1}}`);
  });

  it("lines written in many flushes, each starting the line block again, all read back exactly", async () => {
    const dir = tempDir();
    const log = new RequestLog(dir, quiet);
    const want: string[] = [];
    for (let round = 0; round < 20; round++) {
      // lines of different lengths each round, so a reused block's old bytes would show in a shorter line
      for (let i = 0; i < 30; i++) {
        const k = `r${round}-${i}-${"ü".repeat((round * 37 + i * 11) % 300)}`;
        want.push(k);
        log.append({ ...entry(want.length), request: { k } });
      }
      await log.flush();
    }
    await log.close();
    const r = readRequestLog(dir, "m");
    expect(r.entries.map((e) => (e.request as { k: string }).k)).toEqual(want);
    expect(r).toMatchObject({ missing: 0, badLines: 0 });
  });

  it("reports missing seq ranges, torn lines with their line number, and a process without its end marker", async () => {
    const dir = tempDir();
    const log = new RequestLog(dir, quiet);
    for (let i = 1; i <= 10; i++) log.append(entry(i));
    await log.close();
    const [file] = readRequestLog(dir, "m").files;
    const lines = readFileSync(file, "utf8").split("\n");
    // Drop entries 3, 4 and 8; tear the last entry; keep the end marker.
    const kept = lines.filter((_, i) => ![2, 3, 7].includes(i));
    kept[kept.length - 3] = kept[kept.length - 3].slice(0, 40);
    writeFileSync(file, kept.join("\n"));
    const r = readRequestLog(dir, "m");
    expect(r.gaps).toEqual([
      { proc: log.proc, from: 3, to: 4 },
      { proc: log.proc, from: 8, to: 8 },
      { proc: log.proc, from: 10, to: 10 },
    ]);
    expect(r.missing).toBe(4);
    expect(r.bad).toEqual([{ file, line: 7, reason: expect.stringContaining("torn") }]);

    // Without the end marker (a killed process) the tail is unknown: said, not counted.
    writeFileSync(file, lines.slice(0, 5).join("\n") + "\n");
    const killed = readRequestLog(dir, "m");
    expect(killed.processes[0]).toMatchObject({ ended: false, lastSeq: 5 });
    expect(killed.missing).toBe(0);
  });

  it("a writer without its end marker is running while its pid lives and started before its log; a dead pid, or one reused by a later process, is not", async () => {
    const dir = tempDir();
    const log = new RequestLog(dir, quiet);
    for (let i = 1; i <= 3; i++) log.append(entry(i));
    await log.flush(); // `fti monitor` reading while `fti serve` serves: no end marker yet
    expect(readRequestLog(dir, "m").processes).toEqual([{ proc: log.proc, entries: 3, lastSeq: 3, ended: false, running: true, reportedLost: 0 }]);
    const [file] = readRequestLog(dir, "m").files;
    const text = readFileSync(file, "utf8");
    await log.close();
    const exited = spawnSync(process.execPath, ["-e", ""]).pid!;
    const dayAgo = Date.now() - 86_400_000;
    for (const proc of [`${exited}-${dayAgo}`, `${process.pid}-${dayAgo}`]) {
      writeFileSync(file, text.replaceAll(JSON.stringify(log.proc), JSON.stringify(proc)));
      expect(readRequestLog(dir, "m").processes, proc).toEqual([{ proc, entries: 3, lastSeq: 3, ended: false, running: false, reportedLost: 0 }]);
    }
  });
});

describe("write failures", () => {
  it("are visible at once, retried, and lose nothing once the directory is writable again", async () => {
    const dir = tempDir();
    // A file where the model's folder must go: every write fails (ENOTDIR/EEXIST), as root too.
    writeFileSync(join(dir, "m"), "");
    const errors: string[] = [];
    const recovered: string[] = [];
    // no timed flush: the writes here are the test's own (a timer's flush between them would be a third attempt)
    const log = new RequestLog(dir, { flushMs: 60_000, onError: (e) => errors.push(e.message), onRecover: (m) => recovered.push(m) });
    for (let i = 1; i <= 4; i++) log.append(entry(i));
    await log.flush();
    await log.flush();
    expect(log.isFailing).toBe(true);
    expect(log.stats()).toMatchObject({ written: 0, pending: 4, failing: true, writeErrors: 2 });
    expect(errors).toHaveLength(1); // throttled: one line per failing period
    rmSync(join(dir, "m"));
    log.append(entry(5));
    await log.flush();
    expect(log.isFailing).toBe(false);
    expect(recovered).toHaveLength(1);
    await log.close();
    expect(log.lost()).toBe(0);
    const r = readRequestLog(dir, "m");
    expect(r.entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(r.missing).toBe(0);
  });

  it("drops the oldest entries beyond maxPending, counts them, and the reader shows the gap", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "m"), "");
    const log = new RequestLog(dir, { ...quiet, maxPending: 3 });
    for (let i = 1; i <= 5; i++) log.append(entry(i));
    expect(log.stats().dropped).toBe(2);
    rmSync(join(dir, "m"));
    await log.close();
    expect(log.lost()).toBe(2);
    const r = readRequestLog(dir, "m");
    expect(r.gaps).toEqual([{ proc: log.proc, from: 1, to: 2 }]);
    expect(r.missing).toBe(2);
  });
});

describe("durable mode", () => {
  it("resolves once the entries are in the file, and rejects when they cannot be written", async () => {
    const dir = tempDir();
    const log = new RequestLog(dir, { ...quiet, durable: true });
    await Promise.all([log.appendDurable([entry(1), entry(2)]), log.appendDurable([entry(3)])]);
    // On disk before close: what a SIGKILL right after the answers would leave.
    expect(readRequestLog(dir, "m").entries.map((e) => e.seq)).toEqual([1, 2, 3]);
    await log.close();

    const bad = tempDir();
    writeFileSync(join(bad, "m"), "");
    const failing = new RequestLog(bad, { ...quiet, durable: true });
    await expect(failing.appendDurable([entry(1)])).rejects.toThrow();
    expect(failing.stats()).toMatchObject({ refused: 1, pending: 0, failing: true });
    await failing.close();
  });
});

describe("rotation and retention", () => {
  it("rotates by size, gzips closed files, and the reader reads every part back", async () => {
    const dir = tempDir();
    const log = new RequestLog(dir, { ...quiet, maxFileBytes: 2000, maxBatch: 3 });
    for (let i = 1; i <= 30; i++) {
      log.append(entry(i));
      if (i % 3 === 0) await log.flush();
    }
    await log.close();
    const names = readdirSync(join(dir, "m"));
    expect(names.filter((n) => n.endsWith(".ndjson.gz")).length).toBeGreaterThan(2);
    expect(names.filter((n) => n.endsWith(".ndjson")).length).toBe(1); // the part being written at close
    const r = readRequestLog(dir, "m");
    expect(r.entries.map((e) => e.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(r).toMatchObject({ missing: 0, badLines: 0 });
    expect(r.processes[0].ended).toBe(true);
  });

  it("deletes the oldest compressed files beyond the total cap; the reader calls that retention, not loss", async () => {
    const dir = tempDir();
    const log = new RequestLog(dir, { ...quiet, maxFileBytes: 1500, maxTotalBytes: 2500, maxBatch: 3 });
    for (let i = 1; i <= 40; i++) {
      log.append(entry(i));
      if (i % 3 === 0) await log.flush();
    }
    await log.close();
    expect(log.stats().deletedFiles).toBeGreaterThan(0);
    const r = readRequestLog(dir, "m");
    expect(r.entries.length).toBeLessThan(40);
    expect(r.entries.at(-1)!.seq).toBe(40);
    expect(r.gaps).toEqual([{ proc: log.proc, from: 1, to: r.entries[0].seq! - 1, retention: true }]);
    expect(r.missing).toBe(0);
  });

  it("reads a plain file whose compressed copy is complete only once", async () => {
    const dir = tempDir();
    const log = new RequestLog(dir, { ...quiet, maxFileBytes: 1000, maxBatch: 2 });
    for (let i = 1; i <= 6; i++) {
      log.append(entry(i));
      if (i % 2 === 0) await log.flush();
    }
    await log.close();
    const mdir = join(dir, "m");
    const gz = readdirSync(mdir).find((n) => n.endsWith(".gz"))!;
    // A crash between writing the .gz and removing the plain file: both exist.
    const { gunzipSync } = await import("node:zlib");
    writeFileSync(join(mdir, gz.replace(/\.gz$/, "")), gunzipSync(readFileSync(join(mdir, gz))));
    expect(readRequestLog(dir, "m").entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    mkdirSync(join(mdir, "not-a-file.ndjson"));
    appendFileSync(join(mdir, "zz.ndjson"), "garbage\n");
    expect(readRequestLog(dir, "m").bad).toHaveLength(1);
  });

  it("gzips a large part on a worker thread (low CPU priority): gzip members of 4 MB that read back as the file, the plain file removed", async () => {
    const { gzipSync, gunzipSync } = await import("node:zlib");
    const dir = tempDir();
    const path = join(dir, "big.ndjson");
    const lines: string[] = [];
    for (let i = 0; lines.length * 300 < 9 * 2 ** 20; i++) lines.push(JSON.stringify(entry(i)) + "\n"); // > 2 members
    const text = lines.join("");
    writeFileSync(path, text);
    await compressLogFile(path);
    expect(readdirSync(dir)).toEqual(["big.ndjson.gz"]);
    const gz = readFileSync(join(dir, "big.ndjson.gz"));
    expect(gunzipSync(gz).toString("utf8")).toBe(text);
    // each 4 MB slice gzipped on its own, concatenated
    const bytes = Buffer.from(text);
    const slices = Math.ceil(bytes.length / (4 * 2 ** 20));
    expect(slices).toBeGreaterThan(2);
    const members = Array.from({ length: slices }, (_, k) => gzipSync(bytes.subarray(k * 4 * 2 ** 20, (k + 1) * 4 * 2 ** 20)));
    expect(gz.equals(Buffer.concat(members))).toBe(true);
  });

  it("several large parts compressed at once are each gzipped on the worker; after a stopped one the next part is on a worker again", async () => {
    const { gzipSync, gunzipSync } = await import("node:zlib");
    const dir = tempDir();
    const member = 4 * 2 ** 20;
    // 4 MB and a bit: two gzip members on the worker, one stream in process
    const texts = [0, 1, 2].map((k) => Array.from({ length: 14_500 }, (_, i) => JSON.stringify(entry(k * 100_000 + i)) + "\n").join(""));
    expect(Buffer.byteLength(texts[0])).toBeGreaterThan(member);
    const paths = texts.map((t, k) => {
      const path = join(dir, `p${k}.ndjson`);
      writeFileSync(path, t);
      return path;
    });
    const onWorker = (text: string) => {
      const b = Buffer.from(text);
      return Buffer.concat([gzipSync(b.subarray(0, member)), gzipSync(b.subarray(member))]);
    };
    await Promise.all(paths.map((p) => compressLogFile(p)));
    for (const [k, p] of paths.entries()) expect(readFileSync(`${p}.gz`).equals(onWorker(texts[k]))).toBe(true);
    // a part stopped half-way (the log closing) is gzipped in process; the next part is on a (new) worker again
    writeFileSync(paths[0], texts[0]);
    const hurry = new AbortController();
    const stopped = compressLogFile(paths[0], hurry.signal);
    setImmediate(() => hurry.abort());
    await stopped;
    expect(gunzipSync(readFileSync(`${paths[0]}.gz`)).toString("utf8")).toBe(texts[0]);
    writeFileSync(paths[1], texts[1]);
    await compressLogFile(paths[1]);
    expect(readFileSync(`${paths[1]}.gz`).equals(onWorker(texts[1]))).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(["p0.ndjson.gz", "p1.ndjson.gz", "p2.ndjson.gz"]);
  });

  it("a large part's failed compression rejects with the worker's reason and leaves the plain file", async () => {
    const dir = tempDir();
    const path = join(dir, "big.ndjson");
    writeFileSync(path, "x".repeat(WORKER_COMPRESS_BYTES + 10));
    mkdirSync(`${path}.gz.tmp`); // the worker cannot write its output there
    await expect(compressLogFile(path)).rejects.toThrow(/EISDIR|directory/i);
    expect(readFileSync(path, "utf8").length).toBe(WORKER_COMPRESS_BYTES + 10);
  });

  it("rotates parts above the worker-compression size and reads every entry back", async () => {
    const dir = tempDir();
    const log = new RequestLog(dir, { ...quiet, maxFileBytes: WORKER_COMPRESS_BYTES + 1000, maxBatch: 500 });
    const n = Math.ceil((WORKER_COMPRESS_BYTES * 1.5) / 300);
    for (let i = 1; i <= n; i++) log.append(entry(i));
    await log.close();
    expect(readdirSync(join(dir, "m")).filter((f) => f.endsWith(".ndjson.gz"))).toHaveLength(1);
    const r = readRequestLog(dir, "m");
    expect(r.entries.map((e) => e.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(r).toMatchObject({ missing: 0, badLines: 0 });
  });

  it("a closing log does not wait for the low-priority worker: the part is gzipped in process, one stream", async () => {
    const { gzipSync, gunzipSync } = await import("node:zlib");
    const dir = tempDir();
    const path = join(dir, "big.ndjson");
    const text = Array.from({ length: 30_000 }, (_, i) => JSON.stringify(entry(i)) + "\n").join("");
    writeFileSync(path, text);
    const hurry = new AbortController();
    const job = compressLogFile(path, hurry.signal);
    hurry.abort(); // before the worker has started: it is stopped, the part gzipped in process
    await job;
    expect(readdirSync(dir)).toEqual(["big.ndjson.gz"]);
    const gz = readFileSync(join(dir, "big.ndjson.gz"));
    expect(gunzipSync(gz).toString("utf8")).toBe(text);
    expect(gz.equals(gzipSync(Buffer.from(text)))).toBe(true); // one member, not 4 MB ones
    // already closing: never on the worker
    writeFileSync(path, text);
    await compressLogFile(path, hurry.signal);
    expect(readFileSync(join(dir, "big.ndjson.gz")).equals(gz)).toBe(true);
  });
});
