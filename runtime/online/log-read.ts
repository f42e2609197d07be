// Reading a model's request log back (plain and compressed parts of every
// process) and telling what is missing: per writing process, the seq ranges
// that no file holds, torn or unreadable lines with their file and line
// number, and processes that ended without their `end` marker (killed: the
// entries of their last flush window may be gone without a trace) — unless
// they are still running (`fti monitor` while `fti serve` serves).

import { readFileSync } from "node:fs";
import { listLogFiles, modelLogDir, readLogText } from "./log-files.ts";
import type { RequestLogEntry } from "./types.ts";

export interface LogGap {
  proc: string;
  /** First and last missing seq (inclusive). */
  from: number;
  to: number;
  /** Before the process's oldest remaining part: deleted by the retention cap, not lost (not counted in `missing`). */
  retention?: boolean;
}

export interface LogProcess {
  proc: string;
  entries: number;
  lastSeq: number;
  /** The process wrote its end marker (a clean shutdown). */
  ended: boolean;
  /** No end marker, and the process is still running on this host: its latest entries may not be flushed yet (not an unclean end). */
  running: boolean;
  /** Entries the process itself reported lost at shutdown (write failures). */
  reportedLost: number;
}

export interface BadLine {
  file: string;
  line: number;
  reason: string;
}

export interface ReadLogResult {
  entries: RequestLogEntry[];
  files: string[];
  /** Lines that are not valid entries (a torn last line of a killed process, a hand edit). */
  badLines: number;
  bad: BadLine[];
  /** Missing seq ranges per process (entries written before the seq numbers have none and are not checked). */
  gaps: LogGap[];
  /** Sum of the gaps' lengths (entries a process dropped before its end marker are in them). */
  missing: number;
  processes: LogProcess[];
}

interface ProcState {
  /** Lowest part number found (> 1: earlier parts were deleted by retention). */
  firstPart: number;
  seqs: number[];
  ended: boolean;
  lastSeq: number;
  reportedLost: number;
}

/** What a scan of a model's request log found besides its entries. */
export type ScanLogResult = Omit<ReadLogResult, "entries"> & { entries: number };

/** Every entry of a model's request log, ordered by request time; `since`/`until` bound the request time (gaps are found over all entries). */
export function readRequestLog(dir: string, model: string, opts: { since?: Date; until?: Date } = {}): ReadLogResult {
  const entries: RequestLogEntry[] = [];
  const scan = scanRequestLog(dir, model, opts, (e) => entries.push(e));
  entries.sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts));
  return { ...scan, entries };
}

/**
 * The same, without holding the entries: `onEntry` sees each one in
 * `[since, until)` as it is read (file by file, in no particular order), so a
 * reader that keeps only what it needs (`fti monitor`) is not bounded by the
 * memory of every parsed entry.
 */
export function scanRequestLog(dir: string, model: string, opts: { since?: Date; until?: Date }, onEntry: (e: RequestLogEntry) => void): ScanLogResult {
  const since = opts.since?.getTime() ?? -Infinity;
  const until = opts.until?.getTime() ?? Infinity;
  let entries = 0;
  const bad: BadLine[] = [];
  const procs = new Map<string, ProcState>();
  const proc = (id: string) => {
    let p = procs.get(id);
    if (!p) procs.set(id, (p = { firstPart: Infinity, seqs: [], ended: false, lastSeq: 0, reportedLost: 0 }));
    return p;
  };
  const partOf = (file: string) => Number(/-p(\d+)\.ndjson(\.gz)?$/.exec(file)?.[1] ?? 1);
  const files = listLogFiles(modelLogDir(dir, model)).map((f) => f.path);
  for (const file of files) {
    const lines = readLogText(file).split("\n");
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i].trim()) continue;
      const parsed = parseLine(lines[i], model);
      if ("reason" in parsed) {
        bad.push({ file, line: i + 1, reason: parsed.reason });
        continue;
      }
      if (parsed.kind === "end") {
        const p = proc(parsed.proc);
        p.ended = true;
        p.lastSeq = Math.max(p.lastSeq, parsed.seq);
        p.reportedLost = parsed.lost;
        continue;
      }
      const e = parsed.entry;
      if (typeof e.proc === "string" && Number.isInteger(e.seq)) {
        const p = proc(e.proc);
        p.firstPart = Math.min(p.firstPart, partOf(file));
        p.seqs.push(e.seq!);
        p.lastSeq = Math.max(p.lastSeq, e.seq!);
      }
      const t = Date.parse(e.ts);
      if (t >= since && t < until) {
        entries++;
        onEntry(e);
      }
    }
  }
  const { gaps, processes } = findGaps(procs);
  const missing = gaps.reduce((s, g) => s + (g.retention ? 0 : g.to - g.from + 1), 0);
  return { entries, files, badLines: bad.length, bad, gaps, missing, processes };
}

type Parsed =
  | { kind: "entry"; entry: RequestLogEntry }
  | { kind: "end"; proc: string; seq: number; lost: number }
  | { reason: string };

function parseLine(line: string, model: string): Parsed {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return { reason: "not valid JSON (a torn or partly written line)" };
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) return { reason: "not a JSON object" };
  const o = v as Record<string, unknown>;
  if (o.model !== model) return { reason: `not an entry of model ${model}` };
  if (o.kind === "end") {
    if (typeof o.proc !== "string" || !Number.isInteger(o.seq)) return { reason: "an end marker without proc/seq" };
    return { kind: "end", proc: o.proc, seq: o.seq as number, lost: Number.isInteger(o.lost) ? (o.lost as number) : 0 };
  }
  if (typeof o.ts !== "string" || Number.isNaN(Date.parse(o.ts))) return { reason: "no valid request time (ts)" };
  return { kind: "entry", entry: o as unknown as RequestLogEntry };
}

/** Missing seq ranges: 1..last of each process, minus the seqs found (an ended process's last seq is known). */
function findGaps(procs: Map<string, ProcState>): { gaps: LogGap[]; processes: LogProcess[] } {
  const gaps: LogGap[] = [];
  const processes: LogProcess[] = [];
  for (const [id, p] of [...procs].sort(([a], [b]) => a.localeCompare(b))) {
    const seqs = Int32Array.from(new Set(p.seqs)).sort();
    let next = 1;
    for (const s of seqs) {
      if (s > next) gaps.push({ proc: id, from: next, to: s - 1, ...(next === 1 && p.firstPart > 1 ? { retention: true } : {}) });
      next = s + 1;
    }
    if (p.ended && p.lastSeq >= next) gaps.push({ proc: id, from: next, to: p.lastSeq });
    processes.push({ proc: id, entries: seqs.length, lastSeq: p.lastSeq, ended: p.ended, running: !p.ended && stillRunning(id), reportedLost: p.reportedLost });
  }
  return { gaps, processes };
}

/**
 * Whether the process that writes as `proc` (`<pid>-<start ms>`, log.ts) is
 * alive on this host: its pid exists and started no later than the log did
 * (a pid reused after it died belongs to a process started after).
 */
function stillRunning(proc: string): boolean {
  const m = /^(\d+)-(\d+)$/.exec(proc);
  if (!m) return false;
  try {
    process.kill(Number(m[1]), 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false; // EPERM: alive, another user's
  }
  const started = processStartMs(Number(m[1]));
  return started === null || started <= Number(m[2]) + 1000; // /proc's clock: boot time to the second
}

/** A process's start time (epoch ms) from Linux's /proc, or null where there is none. */
function processStartMs(pid: number): number | null {
  try {
    // Field 22 (starttime, clock ticks after boot; USER_HZ is 100) counted after the `(comm)` field, which may hold spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const ticks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
    const boot = Number(/^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"))?.[1]);
    return Number.isFinite(ticks) && Number.isFinite(boot) ? boot * 1000 + ticks * 10 : null;
  } catch {
    return null;
  }
}
