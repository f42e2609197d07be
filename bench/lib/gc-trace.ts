// What a served process's garbage collector did during one run, from the lines `node --trace-gc-nvp`
// prints (one per GC, with `pause=`, `gc=s|mc|…` and `promoted=` bytes): per kind, how many, their
// pauses, and the bytes promoted to the old space per answer. Unlike latencies, these barely move
// with the machine's load, so an A/B on a busy machine can still compare them.

export interface GcKind {
  count: number;
  pauseMs: number;
  maxMs: number;
  promotedBytes: number;
}

/** Per GC kind (`s` scavenge, `mc` mark-compact, …) over the lines of `text`, counting the main thread's isolate only. */
export function gcTrace(text: string): Map<string, GcKind> {
  const lines = text.split("\n").filter((l) => l.includes(" gc="));
  // Worker threads (tsx's loader, the request log's gzip) print theirs too: the main isolate is the one with the most lines.
  const isolates = new Map<string, number>();
  for (const l of lines) {
    const iso = /^\[\d+:(0x[0-9a-f]+)\]/.exec(l)?.[1];
    if (iso) isolates.set(iso, (isolates.get(iso) ?? 0) + 1);
  }
  const main = [...isolates].sort((a, b) => b[1] - a[1])[0]?.[0];
  const by = new Map<string, GcKind>();
  for (const l of lines) {
    if (main && !l.includes(`:${main}]`)) continue;
    const kind = / gc=(\w+)/.exec(l)![1];
    const pause = Number(/ pause=([\d.]+)/.exec(l)?.[1] ?? 0);
    const k = by.get(kind) ?? { count: 0, pauseMs: 0, maxMs: 0, promotedBytes: 0 };
    k.count++;
    k.pauseMs += pause;
    k.maxMs = Math.max(k.maxMs, pause);
    k.promotedBytes += Number(/ promoted=(\d+)/.exec(l)?.[1] ?? 0);
    by.set(kind, k);
  }
  return by;
}

const KIND_NAMES: Record<string, string> = { s: "scavenges", mc: "major GCs", ms: "minor mark-sweeps" };

/** One line: `scavenges 28 (pause 51 ms, longest 5.2), major GCs 1 (…); promoted to the old space 360 B per answer`. */
export function fmtGcTrace(by: Map<string, GcKind>, answers: number): string {
  if (by.size === 0) return "no GC lines (--trace-gc-nvp)";
  const promoted = [...by.values()].reduce((a, k) => a + k.promotedBytes, 0);
  const kinds = [...by].map(([kind, k]) => `${KIND_NAMES[kind] ?? kind} ${k.count} (pause ${k.pauseMs.toFixed(0)} ms, longest ${k.maxMs.toFixed(1)})`);
  if (!by.has("mc")) kinds.push("major GCs 0");
  return `${kinds.join(", ")}; promoted to the old space ${(promoted / Math.max(1, answers)).toFixed(0)} B per answer`;
}
