// The paced load generator in C (bench/lib/pacer.c) behind pacedLoad's
// interface: compiled with the system's C compiler on first use (cached in
// bench/.data/bin, rebuilt when pacer.c changes), fed the requests that
// prepareRequests built, its answers read back as a PacedLoadResult.
//
// Why a second generator: the Node one's own pauses (its GC, its timers, its
// event loop) are part of every latency it reports; the floor it measured on a
// quiet machine had a p99.9 of 6–10 ms. With both, a run can say how much of
// the floor's tail is the generator's.

import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pacedCount, prepareRequests, type PacedLoadOptions, type PacedLoadResult, type PreparedRequests } from "./paced-load.ts";

const SOURCE = fileURLToPath(new URL("./pacer.c", import.meta.url));
const BIN_DIR = fileURLToPath(new URL("../.data/bin", import.meta.url));
const BINARY = join(BIN_DIR, "pacer");
/** One result record of pacer.c: uint32 index, uint32 status, then latency, lateness, slot and read lag as doubles. */
const RECORD = 40;

let built: string | null | undefined;

/** The pacer binary, compiled when missing or older than its source; null when there is no C compiler. */
export function nativePacer(): string | null {
  if (built !== undefined) return built;
  try {
    if (!existsSync(BINARY) || statSync(BINARY).mtimeMs < statSync(SOURCE).mtimeMs) {
      mkdirSync(BIN_DIR, { recursive: true });
      execFileSync(process.env.CC ?? "cc", ["-O2", "-o", BINARY, SOURCE], { stdio: ["ignore", "ignore", "pipe"] });
    }
    built = BINARY;
  } catch {
    built = null;
  }
  return built;
}

export interface NativePacedResult extends PacedLoadResult {
  /** The longest time between two of the generator's wake-ups while requests were due (ms; the schedule's own gap is 1/rate). */
  gapMs: number;
  /**
   * Per answer, same order: from the kernel's receive time of its last bytes to the generator's read of them (ms;
   * SO_TIMESTAMPNS): the generator's own delay, which the latency includes (0 when the kernel gave no timestamp).
   */
  readLag: Float64Array;
  /** The generator's CPU time (user + system, µs) for the whole run, setup included. */
  cpuUs: number;
}

/** The requests file pacer.c reads (each request: a little-endian uint32 length, then its bytes). */
export function writeRequestsFile(file: string, prepared: PreparedRequests): void {
  const parts: Buffer[] = [];
  for (const raw of prepared.raws) {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(raw.length);
    parts.push(len, raw);
  }
  writeFileSync(file, Buffer.concat(parts));
}

/**
 * pacedLoad with the C generator (same options and result; `onResponse` is called after the run, in answer
 * order). `requestsFile`: the prepared requests already written there (writeRequestsFile), e.g. before agreeing
 * on a start time with another generator (tens of MB of events take a while to write).
 */
export async function pacedLoadNative(opts: PacedLoadOptions & { requestsFile?: string }): Promise<NativePacedResult> {
  const bin = nativePacer();
  if (!bin) throw new Error("no C compiler for bench/lib/pacer.c (set CC, or use the Node generator)");
  const u = new URL(opts.url);
  const total = pacedCount(opts.rate, opts.seconds);
  const prepared = opts.prepared ?? prepareRequests(opts.url, total, opts.request);
  const { tags } = prepared;
  const dir = mkdtempSync(join(tmpdir(), "fti-pacer-"));
  try {
    const reqFile = opts.requestsFile ?? join(dir, "requests");
    const outFile = join(dir, "results");
    if (!opts.requestsFile) writeRequestsFile(reqFile, prepared);
    const args = [u.hostname, u.port, String(opts.rate), String(opts.seconds), String(opts.connections), reqFile, outFile];
    const summary = await new Promise<string>((done, fail) => {
      const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
      child.on("error", fail);
      child.on("exit", (code) => (code === 0 ? done(out) : fail(new Error(`pacer exited with ${code}: ${err}`))));
    });
    const s = JSON.parse(summary.trim().split("\n").pop()!) as { cpuUs: number; sent: number; answered: number; errors: number; queued: number; lateMs: number; gapMs: number; seconds: number; t0Epoch: number };
    const bytes = readFileSync(outFile);
    const n = Math.floor(bytes.length / RECORD);
    const latencies = new Float64Array(n);
    const lateness = new Float64Array(n);
    const readLag = new Float64Array(n);
    const dueAt = new Float64Array(n);
    const statuses = new Uint16Array(n);
    for (let i = 0; i < n; i++) {
      const at = i * RECORD;
      const index = bytes.readUInt32LE(at);
      statuses[i] = bytes.readUInt32LE(at + 4);
      latencies[i] = bytes.readDoubleLE(at + 8);
      lateness[i] = bytes.readDoubleLE(at + 16);
      dueAt[i] = s.t0Epoch + bytes.readDoubleLE(at + 24);
      readLag[i] = bytes.readDoubleLE(at + 32);
      opts.onResponse?.(statuses[i], tags[index % tags.length], latencies[i]);
    }
    return {
      sent: s.sent,
      answered: n,
      latencies,
      dueAt,
      statuses,
      queued: s.queued,
      lateMs: s.lateMs,
      loopP99: NaN,
      loopMax: s.gapMs,
      errors: s.errors,
      seconds: s.seconds,
      gapMs: s.gapMs,
      lateness,
      readLag,
      cpuUs: s.cpuUs,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
