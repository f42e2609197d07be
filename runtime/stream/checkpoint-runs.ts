// When the streams' checkpoints are written (checkpoint.ts writes one): every
// $FTI_STREAM_CHECKPOINT_MS with new events, at close, and when asked; one at a
// time, and the calls made while one runs share one follow-up. The state is
// taken — not copied — while no request is between admission and apply.

import type { SpecBundle } from "../api.ts";
import { specIdentity, writeCheckpoint, type BodyReader } from "./checkpoint.ts";
import type { StreamEngine } from "./engine.ts";
import type { SegmentPosition } from "./segments.ts";
import type { StreamSource } from "./stream-source.ts";

/** How often the writer checkpoints each stream's state when events were applied since (ms): $FTI_STREAM_CHECKPOINT_MS, default 30 s; 0: never. */
const checkpointEveryMs = () => {
  const v = Number(process.env.FTI_STREAM_CHECKPOINT_MS ?? 30_000);
  return Number.isFinite(v) && v >= 0 ? v : 30_000;
};

export class CheckpointRuns {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly sources: ReadonlyMap<string, StreamSource>,
    private readonly engine: StreamEngine,
    private readonly bundle: SpecBundle,
    /** Runs `fn` while no request is between its admission and its apply (StreamService's gate). */
    private readonly exclusive: <T>(fn: () => Promise<T>) => Promise<T>,
    /** Told when a checkpoint could not be written (the state is unaffected). */
    private readonly onError: (message: string) => void,
  ) {}

  /**
   * Writes every stream's checkpoint now (the writer's streams with events
   * since the last one); returns the sources written. One runs at a time (they
   * write the same temp file); calls made while one runs share ONE checkpoint
   * after it (its state is taken later, so it covers what each of them asked
   * for): checkpoints asked for faster than they are written never pile up.
   */
  checkpoint(force = false): Promise<string[]> {
    if (this.nextCheckpoint) {
      this.nextCheckpoint.force ||= force;
      return this.nextCheckpoint.run;
    }
    if (!this.checkpointing) return this.startCheckpoint(force);
    const next = { force, run: Promise.resolve<string[]>([]) };
    next.run = this.checkpointing
      .catch(() => undefined)
      .then(() => {
        this.nextCheckpoint = null;
        return this.startCheckpoint(next.force);
      });
    this.nextCheckpoint = next;
    return next.run;
  }

  private startCheckpoint(force: boolean): Promise<string[]> {
    const run: Promise<string[]> = this.checkpointOnce(force).finally(() => {
      if (this.checkpointing === run) this.checkpointing = null;
    });
    this.checkpointing = run;
    return run;
  }

  private checkpointing: Promise<string[]> | null = null;
  private nextCheckpoint: { force: boolean; run: Promise<string[]> } | null = null;

  private async checkpointOnce(force: boolean): Promise<string[]> {
    const t0 = performance.now();
    let copyMs = 0;
    const taken = await this.exclusive(async () => {
      const c0 = performance.now();
      const out: Array<{ s: StreamSource; header: Parameters<typeof writeCheckpoint>[1]; body: BodyReader }> = [];
      for (const s of this.sources.values()) {
        if (s.refusedBy !== null || s.offline === null || (!s.dirty && !force)) continue;
        const segments: Record<string, SegmentPosition> = Object.fromEntries(s.covered);
        for (const [file, pos] of s.writer.positions) if ((segments[file]?.lines ?? -1) < pos.lines) segments[file] = { ...pos };
        const header = { source: s.plan.name, spec: specIdentity(this.bundle), offline: s.offline, segments, events: s.events, writtenAt: new Date().toISOString() };
        // Taken now, read while the checkpoint is serialized (copy-on-write): holding the gate costs no copy of the state.
        const admission = s.admission.beginSnapshot();
        const groups = this.engine.beginSnapshot(s.plan.name);
        const end = () => {
          admission.end();
          for (const g of groups) g.reader.end();
        };
        out.push({ s, header, body: { watermark: admission.watermark, late: [...s.late.values()], seen: admission.next, groups, end } });
        s.dirty = false;
      }
      copyMs = performance.now() - c0;
      return out;
    });
    const written: string[] = [];
    for (const t of taken) {
      try {
        const w = await writeCheckpoint(t.s.writer.dir, t.header, t.body);
        t.s.checkpoints++;
        t.s.lastCheckpoint = { copyMs, serializeMs: w.serializeMs, totalMs: performance.now() - t0, bytes: w.bytes };
        written.push(t.s.plan.name);
      } catch (e) {
        t.s.dirty = true;
        this.onError(`stream ${t.s.plan.name}: the checkpoint could not be written (${(e as Error).message}); the next restart replays more events`);
      }
    }
    return written;
  }

  startTimer(): void {
    const every = checkpointEveryMs();
    if (this.timer || every === 0) return;
    // A tick while one is still being written is skipped (the next tick takes the state then).
    this.timer = setInterval(() => void (this.checkpointing ? null : this.checkpoint().catch((e) => this.onError((e as Error).message))), every);
    this.timer.unref();
  }

  stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
