// The service never keeps the store open (one writer per DuckDB file): it opens
// it read-only when it loads, retrying while another process writes, and polls
// the file to know when to reload. See CONTEXT.md, "One writer per store".

import { statSync } from "node:fs";
import { openStore, type Store } from "../store/store.ts";

/** The store is held by another process (or this one): expected while `fti materialize`/`train` write it. */
export function isBusy(e: unknown): boolean {
  const m = (e as Error)?.message ?? "";
  return /in use by another fti process|already open in this process|Could not set lock|Conflicting lock/i.test(m);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Opens the store read-only, retrying with backoff while it is busy, for at most `waitMs`. */
export async function openReadOnly(path: string, waitMs: number): Promise<Store> {
  const deadline = Date.now() + waitMs;
  let delay = 25;
  for (;;) {
    try {
      return await openStore({ path, readOnly: true });
    } catch (e) {
      if (!isBusy(e) || Date.now() + delay > deadline) throw e;
      await sleep(delay);
      delay = Math.min(delay * 2, 500);
    }
  }
}

/** Size and mtime of the store file and its WAL: what the watcher compares. */
export function storeSignature(path: string): string {
  const sig = (p: string) => {
    try {
      const s = statSync(p);
      return `${s.size}:${s.mtimeMs}`;
    } catch {
      return "-";
    }
  };
  return `${sig(path)}|${sig(path + ".wal")}`;
}

export interface StoreWatchHooks {
  /** Stop polling quietly (the service is closing). */
  closed(): boolean;
  /** A reload is running: wait for the next tick. */
  reloading(): boolean;
  reload(): Promise<{ ok: boolean; errors: string[] }>;
  onError(e: Error): void;
}

/**
 * Polls the store file (and its WAL) and reloads once it has been quiet for
 * one interval; while another process holds the store, retries next time.
 */
export class StoreWatcher {
  /** The signature the last successful load read (set by the service's load). */
  loadedSig = "";
  private timer: NodeJS.Timeout | null = null;
  private dirtySince: number | null = null;
  private pendingSig = "";
  private failures = 0;

  constructor(private readonly path: string) {}

  signature(): string {
    return storeSignature(this.path);
  }

  start(intervalMs: number, hooks: StoreWatchHooks): void {
    this.loadedSig = this.signature();
    const tick = async () => {
      if (hooks.closed()) return;
      const sig = this.signature();
      if (sig !== this.loadedSig) {
        if (this.dirtySince === null || sig !== this.pendingSig) {
          this.dirtySince = Date.now();
          this.pendingSig = sig;
          return;
        }
        const wait = Math.min(intervalMs * 2 ** this.failures, 30_000);
        if (Date.now() - this.dirtySince < wait || hooks.reloading()) return;
        const r = await hooks.reload();
        if (r.ok) {
          this.dirtySince = null;
          this.failures = 0;
        } else {
          // Busy (another process writes): retry soon; anything else: back off.
          this.dirtySince = Date.now();
          this.failures = r.errors.every((e) => isBusy({ message: e })) ? 0 : Math.min(this.failures + 1, 6);
        }
      }
    };
    this.timer = setInterval(() => void tick().catch((e) => hooks.onError(e as Error)), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
