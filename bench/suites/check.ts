// check: `fti check` in a new process on generated specs of growing size, to
// show that checking is linear in the spec's size (issue 11 #11):
//   - valid specs (the compile suite's modules) of 1 MB and 4 MB, and 10 MB at
//     full size                                   goal: 10 MB in ≤ 5 s
//   - broken specs of 1× and 4× size: each fn calls an unknown fn and reads an
//     unknown name (two errors with a did-you-mean over every fn), so the
//     hints and the formatting of thousands of diagnostics are measured too
// The 4×/1× ratio of each pair is reported (linear: about 4; quadratic: 16).
// Absolute goal only; there is no reference. Specs go to bench/.data/check/.

import { writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fmtInt, fmtMs, median, ROOT, runCold } from "../lib/harness.ts";
import { BIN } from "../lib/spec.ts";
import { rounds, type Ctx, type RoundSpec, type Suite } from "../lib/suite.ts";
import { bigSpec } from "./compile.ts";

const MB = 1_000_000;
/** Lines of bigSpec per MB of text (its modules are ~27 bytes a line). */
const LINES_PER_MB = 37_000;

/** `n` fns, each calling a misspelt fn and reading an unknown name: 2n errors, each with a did-you-mean over every fn. */
export function brokenSpec(n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(`fn fun_${i}(x: float): float = fun_${i}z(x) + undefined_${i}`);
  return out.join("\n") + "\n";
}

export const suite: Suite = {
  name: "check",
  describe: "fti check in a new process: generated valid specs of 1, 4 (and 10) MB, broken specs of 1× and 4× size; the 4×/1× ratios show linearity",
  async run(ctx: Ctx) {
    const S = "check";
    const work = ctx.work(S);
    const write = (name: string, text: string) => {
      const file = join(work, name);
      writeFileSync(file, text);
      return { file, bytes: Buffer.byteLength(text) };
    };
    const base = ctx.quick ? 0.25 : 1;
    const valid1 = write("valid-1x.fti", bigSpec(Math.round(base * LINES_PER_MB)));
    const valid4 = write("valid-4x.fti", bigSpec(Math.round(4 * base * LINES_PER_MB)));
    const valid10 = ctx.quick ? null : write("valid-10mb.fti", bigSpec(10 * LINES_PER_MB));
    const fns = ctx.quick ? 1_000 : 4_000;
    const broken1 = write("broken-1x.fti", brokenSpec(fns));
    const broken4 = write("broken-4x.fti", brokenSpec(4 * fns));
    const check = (f: { file: string }, code: number) => () => runCold([BIN, "check", relative(ROOT, f.file)], { expectCode: code });
    const size = (f: { bytes: number }) => `${(f.bytes / MB).toFixed(2)} MB`;
    const m = await rounds(ctx, S, [
      { id: "valid-1x", label: `fti check, valid spec of ${size(valid1)}`, role: "fti", run: check(valid1, 0) },
      { id: "valid-4x", label: `fti check, valid spec of ${size(valid4)}`, role: "fti", run: check(valid4, 0) },
      ...(valid10 ? [{ id: "valid-10mb", label: `fti check, valid spec of ${size(valid10)}`, role: "fti", run: check(valid10, 0) } satisfies RoundSpec] : []),
      { id: "broken-1x", label: `fti check, ${fmtInt(fns)} fns with ${fmtInt(2 * fns)} errors (${size(broken1)})`, role: "fti", run: check(broken1, 1) },
      { id: "broken-4x", label: `fti check, ${fmtInt(4 * fns)} fns with ${fmtInt(8 * fns)} errors (${size(broken4)})`, role: "fti", run: check(broken4, 1) },
    ]);
    for (const x of m.values()) ctx.out.measure(x);
    const ratio = (a: string, b: string) => median(m.get(b)!.cpuMs) / median(m.get(a)!.cpuMs);
    ctx.out.note(S, `4×/1× CPU-time ratio: valid ${ratio("valid-1x", "valid-4x").toFixed(2)}, broken ${ratio("broken-1x", "broken-4x").toFixed(2)} (linear ≈ 4, quadratic ≈ 16; process start-up makes small sizes look cheaper)`);
    if (valid10) {
      const ms = median(m.get("valid-10mb")!.ms);
      ctx.out.goal(S, "fti check of a 10 MB spec", { text: "≤ 5 s", met: ms <= 5000 }, fmtMs(ms));
    }
    const clean = ["valid-1x", "valid-4x", "valid-10mb"].every((id) => !m.has(id) || /no errors/.test(String(m.get(id)!.extra.stdout) + String(m.get(id)!.extra.stderr)));
    const broken = String(m.get("broken-1x")!.extra.stdout) + String(m.get("broken-1x")!.extra.stderr);
    const counted = new RegExp(`${fmtInt(2 * fns).replace(/,/g, ",?")} errors`).test(broken) || broken.includes(`${2 * fns} errors`);
    ctx.out.check(S, "valid specs check clean; the broken spec reports every error", clean && counted, `${clean ? "valid ✓" : "valid ✗"}, ${counted ? "broken ✓" : `broken ✗ ${broken.slice(-200)}`}`);
  },
};
