// Suites report through here: one printed line per measurement (median wall
// time, CPU time, peak RSS, and on a reference's line the ratio fti/reference
// with its goal), one line per correctness check, and a summary (text,
// JSON and a Markdown table for docs/benchmarks.md).

import { fmtKB, fmtMs, median, type MultiSample, type Sample } from "./harness.ts";

export type Role = "fti" | "ref" | "floor" | "info";

export interface Measured {
  suite: string;
  id: string;
  label: string;
  role: Role;
  /** Timed repetitions (warm-up excluded). */
  ms: number[];
  cpuMs: number[];
  /** Largest peak RSS over the repetitions. */
  rssKB: number;
  /** The last repetition's extra fields. */
  extra: Record<string, unknown>;
  /** Shown after the numbers (rows/s, a breakdown...). */
  note?: string;
  /** Set when the measurement failed (e.g. out of temp space): its numbers are those of the runs before. */
  error?: string;
}

export interface Goal {
  /** e.g. "≤ 1.0×" */
  text: string;
  met: boolean;
}

export interface Line {
  suite: string;
  kind: "measure" | "check" | "goal" | "note";
  label: string;
  medianMs?: number;
  cpuMs?: number;
  rssKB?: number;
  n?: number;
  role?: Role;
  /** fti / this reference (wall-time medians). */
  ratio?: number;
  vs?: string;
  goal?: Goal;
  pass?: boolean;
  detail?: string;
  note?: string;
}

export function fromSamples(suite: string, id: string, label: string, role: Role, samples: Sample[]): Measured {
  const last = samples[samples.length - 1] ?? ({} as Sample);
  const { ms: _m, cpuMs: _c, rssKB: _r, ...extra } = last;
  return {
    suite,
    id,
    label,
    role,
    ms: samples.map((s) => s.ms),
    cpuMs: samples.map((s) => s.cpuMs),
    rssKB: Math.max(0, ...samples.map((s) => s.rssKB)),
    extra,
  };
}

export function fromMulti(suite: string, id: string, label: string, role: Role, m: MultiSample): Measured {
  const { ms, cpuMs, rssKB, ...extra } = m;
  return { suite, id, label, role, ms, cpuMs, rssKB, extra };
}

export function medianOf(m: Measured): number {
  return median(m.ms);
}

const LABEL_WIDTH = 58;

export class Reporter {
  readonly lines: Line[] = [];
  constructor(private readonly write: (s: string) => void = (s) => process.stdout.write(s)) {}

  private print(suite: string, text: string): void {
    this.write(`[${suite}] ${text}\n`);
  }

  note(suite: string, text: string): void {
    this.lines.push({ suite, kind: "note", label: text });
    this.print(suite, text);
  }

  /**
   * One measurement. With `vs` (an fti measurement) and this a reference, the
   * line carries fti / reference and the goal for it.
   */
  measure(m: Measured, opts: { vs?: Measured; goal?: (ratio: number) => Goal; note?: string } = {}): Line {
    if (m.error && m.ms.length === 0) {
      const line: Line = { suite: m.suite, kind: "measure", label: m.label, role: m.role, n: 0, note: `FAILED: ${m.error}` };
      if (opts.vs && opts.goal) line.goal = { ...opts.goal(NaN), met: false };
      this.lines.push(line);
      this.print(m.suite, `${m.label.padEnd(LABEL_WIDTH)} FAILED: ${m.error}`);
      return line;
    }
    const med = median(m.ms);
    const cpu = median(m.cpuMs);
    const line: Line = {
      suite: m.suite,
      kind: "measure",
      label: m.label,
      role: m.role,
      medianMs: med,
      cpuMs: cpu,
      rssKB: m.rssKB,
      n: m.ms.length,
      note: opts.note ?? m.note,
    };
    let text = `${m.label.padEnd(LABEL_WIDTH)} median ${fmtMs(med).padStart(9)}  cpu ${fmtMs(cpu).padStart(9)}  peak RSS ${fmtKB(m.rssKB).padStart(8)}  n=${m.ms.length}`;
    if (opts.vs) {
      const ratio = median(opts.vs.ms) / med;
      line.ratio = ratio;
      line.vs = opts.vs.label;
      text += `  fti/ref ${ratio.toFixed(2)}×`;
      if (opts.goal) {
        line.goal = opts.goal(ratio);
        text += ` (goal ${line.goal.text}: ${line.goal.met ? "met" : "MISSED"})`;
      }
    }
    if (line.note) text += `  · ${line.note}`;
    this.lines.push(line);
    this.print(m.suite, text);
    return line;
  }

  /** An absolute goal (e.g. compile time, rows/s). */
  goal(suite: string, label: string, goal: Goal, detail: string): void {
    this.lines.push({ suite, kind: "goal", label, goal, detail });
    this.print(suite, `goal ${label}: ${detail} (goal ${goal.text}: ${goal.met ? "met" : "MISSED"})`);
  }

  check(suite: string, label: string, pass: boolean, detail: string): void {
    this.lines.push({ suite, kind: "check", label, pass, detail });
    this.print(suite, `check ${label}: ${detail}: ${pass ? "PASS" : "FAIL"}`);
  }

  failed(): boolean {
    return this.lines.some((l) => l.kind === "check" && !l.pass);
  }

  markdown(): string {
    const out: string[] = [];
    out.push("| suite | measurement | median | CPU | peak RSS | n | fti / ref | goal |");
    out.push("|---|---|---:|---:|---:|---:|---:|---|");
    for (const l of this.lines) {
      const esc = (t: string | undefined) => (t ?? "").replaceAll("|", "\\|").replaceAll("\n", " ");
      if (l.kind === "measure") {
        const goal = l.goal ? `${l.goal.text}: ${l.goal.met ? "met" : "**missed**"}` : "";
        out.push(
          `| ${l.suite} | ${esc(l.label)}${l.note ? ` (${esc(l.note)})` : ""} | ${fmtMs(l.medianMs ?? NaN)} | ${fmtMs(l.cpuMs ?? NaN)} | ${fmtKB(l.rssKB ?? 0)} | ${l.n} | ${l.ratio !== undefined ? `${l.ratio.toFixed(2)}×` : ""} | ${goal} |`,
        );
      } else if (l.kind === "goal") {
        out.push(`| ${l.suite} | **${esc(l.label)}** | ${esc(l.detail)} | | | | | ${l.goal!.text}: ${l.goal!.met ? "met" : "**missed**"} |`);
      } else if (l.kind === "check") {
        out.push(`| ${l.suite} | check: ${esc(l.label)} | ${esc(l.detail)} | | | | | ${l.pass ? "PASS" : "**FAIL**"} |`);
      }
    }
    return out.join("\n") + "\n";
  }
}

export const ratioGoal =
  (max: number, text = `≤ ${max.toFixed(1)}×`) =>
  (ratio: number): Goal => ({ text, met: ratio <= max });

/** fti at least `k` times faster than the reference: fti/ref ≤ 1/k. */
export const fasterGoal =
  (k: number) =>
  (ratio: number): Goal => ({ text: `fti ≥ ${k}× faster (≤ ${(1 / k).toFixed(2)}×)`, met: ratio <= 1 / k });
