// When the late events are corrected (recomputing only the group entities they
// belong to, late-correction.ts reads their lines): at a reload or restart
// (`correctLate`), and in the background once `autoCorrect` is on, a delay
// after a late event; one correction at a time, whoever asks.

import type { SpecBundle } from "../api.ts";
import type { Store } from "../store/store.ts";
import type { StreamEngine, StreamUpdate } from "./engine.ts";
import { readEntityRows } from "./entity-events.ts";
import { SegmentScan, type Targets } from "./late-correction.ts";
import { onceEachInTime, type StreamSource } from "./stream-source.ts";

/** How long after a late event its correction starts in the background (ms): $FTI_STREAM_CORRECT_MS, default 1 s; 0: only at a reload or restart. */
const correctEveryMs = () => {
  const v = Number(process.env.FTI_STREAM_CORRECT_MS ?? 1000);
  return Number.isFinite(v) && v >= 0 ? v : 1000;
};

/** Runs `fn` with a store to read (opened for it, or the one at hand). */
export type StoreUse = <T>(fn: (store: Store) => Promise<T>) => Promise<T>;

export class CorrectionRuns {
  constructor(
    private readonly sources: ReadonlyMap<string, StreamSource>,
    private readonly engine: StreamEngine,
    private readonly bundle: SpecBundle,
  ) {}

  /**
   * Applies the stored late events: recomputes only the group entities they
   * belong to (every event of theirs from src_<source> and the segments, once
   * each by `unique`), while events go on (see correctSource). `onUpdate` gets
   * each recomputed entity's row; returns how many were recomputed per source.
   * What the background corrections do by themselves (`autoCorrect`); a
   * reload runs it too.
   */
  async correctLate(store: Store, onUpdate: (u: StreamUpdate) => void): Promise<Array<{ source: string; entities: number; rowsRead: number }>> {
    const out: Array<{ source: string; entities: number; rowsRead: number }> = [];
    for (const s of this.sources.values()) {
      if (s.refusedBy !== null || s.late.size === 0) continue;
      const r = await this.untilDone((use) => use(store), s);
      if (!r) continue; // segments compacted while they were read, every time: the marks stay for the next correction
      for (const u of r.updates) onUpdate(u);
      out.push({ source: s.plan.name, entities: r.updates.length, rowsRead: r.rowsRead });
    }
    return out;
  }

  /**
   * Corrects late events in the background from now on: `delay` after a late
   * event (at least 10× the last correction's time after it, so corrections
   * take at most a tenth of the time), `open` gives a store to read (closed
   * after), `onCorrected` the recomputed rows (their late marks clear).
   */
  autoCorrect(open: () => Promise<Store>, onCorrected: (updates: StreamUpdate[]) => void | Promise<void>, onError: (e: Error, source: string) => void = () => {}): void {
    this.corrector = { open, onCorrected, onError };
    if ([...this.sources.values()].some((s) => s.refusedBy === null && s.late.size > 0)) this.schedule();
  }

  private corrector: { open: () => Promise<Store>; onCorrected: (updates: StreamUpdate[]) => void | Promise<void>; onError: (e: Error, source: string) => void } | null = null;
  private correctionTimer: NodeJS.Timeout | null = null;
  /** The correction running (one at a time: a reload's, the background's, a restart's). */
  private correcting: Promise<unknown> = Promise.resolve();

  schedule(): void {
    const every = correctEveryMs();
    if (!this.corrector || every === 0 || this.correctionTimer) return;
    const lastMs = Math.max(0, ...[...this.sources.values()].map((s) => s.corrections.lastMs));
    this.correctionTimer = setTimeout(() => void this.correctInBackground(), Math.max(every, 10 * lastMs));
    this.correctionTimer.unref();
  }

  private async correctInBackground(): Promise<void> {
    const c = this.corrector;
    if (!c) return;
    for (const s of this.sources.values()) {
      if (s.refusedBy !== null || s.late.size === 0) continue;
      try {
        const use = async <T>(fn: (store: Store) => Promise<T>): Promise<T> => {
          const store = await c.open();
          try {
            return await fn(store);
          } finally {
            await store.close();
          }
        };
        const r = await this.untilDone(use, s);
        if (r) await c.onCorrected(r.updates);
      } catch (e) {
        // The store busy (a batch run writes it) or unreadable: the marks stay, the next try comes later.
        c.onError(e as Error, s.plan.name);
      }
    }
    this.correctionTimer = null;
    if ([...this.sources.values()].some((s) => s.refusedBy === null && s.late.size > 0)) this.schedule();
  }

  /** correctSource, after the correction running, tried again (up to 3 times) when segments were compacted while read. */
  untilDone(use: StoreUse, s: StreamSource): Promise<{ updates: StreamUpdate[]; rowsRead: number } | null> {
    const run = this.correcting.then(async () => {
      for (let i = 0; i < 3; i++) {
        if (s.late.size === 0) return { updates: [], rowsRead: 0 };
        const r = await this.correctSource(use, s);
        if (r) return r;
      }
      return null;
    });
    this.correcting = run.catch(() => undefined);
    return run;
  }

  /**
   * Recomputes the entities of `s`'s pending late events from every event
   * they have, and clears them, without holding events: their segment lines
   * are read asynchronously while events go on (late-correction.ts), then
   * their offline rows; the lines appended meanwhile are read, the entities
   * recomputed and the marks cleared in one turn of the event loop — every
   * event applied so far is in what was read, every one applied later is
   * applied on top. Null: a segment was compacted while it was read (try again).
   */
  private async correctSource(use: StoreUse, s: StreamSource): Promise<{ updates: StreamUpdate[]; rowsRead: number } | null> {
    const t0 = performance.now();
    const source = s.plan.name;
    const targets: Targets = { keys: new Map(), values: new Map() };
    for (const l of s.late.values()) {
      const k = this.engine.entityKey(l.group, l.keys);
      if (!targets.keys.has(l.group)) targets.keys.set(l.group, new Set());
      if (targets.keys.get(l.group)!.has(k)) continue;
      targets.keys.get(l.group)!.add(k);
      targets.values.set(l.group, [...(targets.values.get(l.group) ?? []), l.keys]);
    }
    const scan = new SegmentScan(s.writer.dir, s.plan, this.bundle, this.engine, targets, s.writer.positions);
    // While much was appended during a read, read on (asynchronously); what is left is read in the last turn.
    for (let i = 0; i < 5 && (await scan.catchUp()) > 256 * 1024; i++);
    // The offline rows after the segments: a file compacted before it was read has its lines there by now.
    const offline = (await use((store) => readEntityRows(store, this.bundle, s.plan, targets.values))).rows;
    await scan.catchUp();
    // One turn from here: no event is applied between the last lines read and the recompute.
    if (!scan.finish()) return null;
    const rows = onceEachInTime(s, [...offline, ...scan.rows()]);
    const updates = this.engine.recompute(source, targets.keys, rows);
    for (const [k, l] of s.late) if (targets.keys.get(l.group)?.has(this.engine.entityKey(l.group, l.keys))) s.late.delete(k);
    s.dirty = true;
    s.corrections.runs++;
    s.corrections.entities += updates.length;
    s.corrections.lastMs = performance.now() - t0;
    s.corrections.linesRead = scan.linesRead;
    s.corrections.linesParsed = scan.linesParsed;
    return { updates, rowsRead: offline.length };
  }

  /** No more background corrections; waits for the one running. */
  async stop(): Promise<void> {
    if (this.correctionTimer) clearTimeout(this.correctionTimer);
    this.corrector = null;
    await this.correcting;
  }
}
