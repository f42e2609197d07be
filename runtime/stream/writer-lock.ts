// One writer per stream. Two processes applying the same stream's events
// would each hold half the state (each computes windows over the events it
// saw) and write competing online rows, so a server takes a stream's events
// only while it holds every lease of the stream: the lock file in the
// stream's segment directory (processes sharing the store's directory) and,
// with a shared online store, a lease in Redis (processes on other machines;
// online/redis-store.ts). A server that cannot get them serves predictions
// and refuses the stream's events with a 409 naming the holder.
//
// The lock file is created with link(2) (atomic: fails when it exists) and
// holds {pid, host, since, token}. A lock whose process is gone (same host,
// no such pid: a kill -9) is stale and taken over; the release removes it only
// when it still holds this process's token.

import { randomBytes } from "node:crypto";
import { linkSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { makeDirs } from "../make-dirs.ts";

export interface WriterLease {
  /** What it is, for messages (`lock file …`, `Redis lease …`). */
  readonly what: string;
  /** Takes the lease: null when held now, else who holds it. */
  acquire(): Promise<string | null>;
  release(): Promise<void>;
  /** Called when a held lease is lost (e.g. a Redis lease that expired and was taken). */
  onLost?: (holder: string) => void;
  /**
   * Whether the lease is still certainly held now (a lease with a term: its
   * last renewal was answered less than its term ago, less a margin for the
   * clocks). A writer checks it before each write: after a pause longer than
   * the term (a stopped process, a long GC, a long rebuild) another may hold
   * it already, so it renews it first (`renew`).
   */
  valid?(): boolean;
  /** Renews a held lease now: null when it is this process's again, else who holds it (lost). */
  renew?(): Promise<string | null>;
}

export interface LeaseHolder {
  pid: number;
  host: string;
  since: string;
  token: string;
}

export const thisProcess = (): LeaseHolder => ({ pid: process.pid, host: hostname(), since: new Date().toISOString(), token: randomBytes(8).toString("hex") });

/** Whether a holder is known to be gone: a process of this host that no longer exists. */
export function holderIsGone(h: Pick<LeaseHolder, "pid" | "host">): boolean {
  if (h.host !== hostname()) return false;
  try {
    process.kill(h.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH";
  }
}

export const describeHolder = (h: LeaseHolder) => `process ${h.pid} on ${h.host} (since ${h.since})`;

export function parseHolder(text: string | null): LeaseHolder | null {
  if (!text) return null;
  try {
    const h = JSON.parse(text) as LeaseHolder;
    return typeof h.pid === "number" && typeof h.host === "string" ? h : null;
  } catch {
    return null;
  }
}

export class FileWriterLock implements WriterLease {
  readonly file: string;
  readonly what: string;
  private readonly me = thisProcess();
  private held = false;

  constructor(dir: string) {
    this.file = join(dir, "writer.lock");
    this.what = `lock file ${this.file}`;
  }

  async acquire(): Promise<string | null> {
    makeDirs(join(this.file, ".."));
    const tmp = `${this.file}.${this.me.pid}.${this.me.token}`;
    writeFileSync(tmp, JSON.stringify(this.me));
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          linkSync(tmp, this.file);
          this.held = true;
          return null;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        }
        const text = readOrNull(this.file);
        const holder = parseHolder(text);
        if (holder && !holderIsGone(holder)) return describeHolder(holder);
        // Stale (its process is gone) or unreadable: removed, if nobody replaced it meanwhile, and tried again.
        if (readOrNull(this.file) === text) unlinkQuietly(this.file);
      }
      return `another process (${this.file} keeps changing)`;
    } finally {
      unlinkQuietly(tmp);
    }
  }

  async release(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    if (parseHolder(readOrNull(this.file))?.token === this.me.token) unlinkQuietly(this.file);
  }
}

function readOrNull(file: string): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return null;
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}
