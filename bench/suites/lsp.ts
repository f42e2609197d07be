// lsp: diagnostics after a keystroke in `fti lsp --stdio`, measured as an
// editor sees them — from sending `didChange` to receiving the
// `publishDiagnostics` of that version — over the real protocol:
//   - specs/athlete.fti                       goal < 50 ms
//   - the compile suite's generated 2,000-line spec   goal < 300 ms
// Each keystroke alternately adds and removes a character in a feature name
// (so every edit changes the diagnostics and is analysed in full). Absolute
// goals: there is no reference. The first analysis (which loads the checker
// and, for an extern fn, TypeScript) is not a keystroke and is not measured.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { fmtInt, fmtMs, median, ROOT, type Sample } from "../lib/harness.ts";
import { fromSamples } from "../lib/report.ts";
import type { Ctx, Suite } from "../lib/suite.ts";
import { startLsp } from "../../test/helpers/lsp-client.ts";
import { bigSpec } from "./compile.ts";

const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))];

/** Opens `text` as `file` and times `n` keystrokes at the end of `anchor`. */
async function keystrokes(file: string, text: string, anchor: string, n: number): Promise<{ samples: Sample[]; diagnostics: number[] }> {
  const lsp = await startLsp(ROOT);
  try {
    const uri = pathToFileURL(file).href;
    await lsp.open(uri, text);
    const at = text.indexOf(anchor) + anchor.length;
    const edited = text.slice(0, at) + "x" + text.slice(at);
    const samples: Sample[] = [];
    const diagnostics: number[] = [];
    for (let i = 0; i < n; i++) {
      const start = performance.now();
      const published = await lsp.change(uri, i + 2, i % 2 === 0 ? edited : text);
      samples.push({ ms: performance.now() - start, cpuMs: NaN, rssKB: 0 });
      diagnostics.push(published.diagnostics.length);
    }
    return { samples, diagnostics };
  } finally {
    await lsp.stop();
  }
}

export const suite: Suite = {
  name: "lsp",
  describe: "fti lsp --stdio: from didChange to publishDiagnostics, per keystroke, on the athlete spec and a generated 2,000-line spec",
  async run(ctx: Ctx) {
    const S = "lsp";
    const n = ctx.quick ? 10 : 60;
    const athletePath = join(ROOT, "specs", "athlete.fti");
    const athlete = readFileSync(athletePath, "utf8");
    const big = bigSpec(ctx.bigSpecLines);
    const lines = big.split("\n").length - 1;
    const a = await keystrokes(athletePath, athlete, "  zone_28d", n);
    const b = await keystrokes(join(ctx.work(S), "big.fti"), big, "  spread", n);
    const ma = median(a.samples.map((s) => s.ms));
    const mb = median(b.samples.map((s) => s.ms));
    ctx.out.measure(fromSamples(S, "athlete", "diagnostics after a keystroke, specs/athlete.fti", "fti", a.samples), { note: `p95 ${fmtMs(p95(a.samples.map((s) => s.ms)))}` });
    ctx.out.measure(fromSamples(S, "big", `diagnostics after a keystroke, generated ${fmtInt(lines)}-line spec`, "fti", b.samples), { note: `p95 ${fmtMs(p95(b.samples.map((s) => s.ms)))}` });
    ctx.out.goal(S, "athlete.fti diagnostics after a keystroke", { text: "< 50 ms", met: ma < 50 }, fmtMs(ma));
    ctx.out.goal(S, `${fmtInt(lines)}-line spec diagnostics after a keystroke`, { text: "< 300 ms", met: mb < 300 }, fmtMs(mb));
    // Every other keystroke makes `zone_28dx`/`spreadx` (an unused-free, valid rename) or restores it: the
    // clean text must have no diagnostics, so the server really answered each version.
    const clean = (d: number[]) => d.filter((_, i) => i % 2 === 1).every((x) => x === 0);
    ctx.out.check(S, "the unedited text has no diagnostics after each round trip", clean(a.diagnostics) && clean(b.diagnostics), `athlete ${a.diagnostics.join(",")}; big ${b.diagnostics.slice(0, 10).join(",")}…`);
  },
};
