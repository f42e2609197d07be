// Summarises a V8 CPU profile (`node --cpu-prof`): self time by function and
// by module/package, and total (inclusive) time of the heaviest frames of
// this repository's code.
//
//   node --cpu-prof --cpu-prof-dir=bench/.data/prof compiler/cli/bin.mjs compile specs/athlete.fti --out /tmp/x
//   npx tsx bench/profile.ts bench/.data/prof/<file>.cpuprofile [--top 25]

import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** node_modules/<pkg> (scoped too), a repo folder (compiler/…, runtime/…), or node internals. */
function moduleOf(url: string): string {
  if (!url) return "(native / V8)";
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  if (url.startsWith("node:")) return "node:internal";
  const repo = /\/work\/[^/]+\/([^/]+\/(?:[^/]+\/)?)/.exec(url) ?? /file:\/\/.*?\/((?:compiler|runtime|bench|generated|specs)\/(?:[^/]+\/)?)/.exec(url);
  return repo ? repo[1] : url.replace(/^file:\/\//, "");
}

export function summarize(p: Profile, top = 25): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) selfUs.set(p.samples[i], (selfUs.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  const total = p.endTime - p.startTime;

  const fnSelf = new Map<string, number>();
  const modSelf = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    const cf = n.callFrame;
    const key = `${cf.functionName || "(anonymous)"}  ${cf.url.replace(/^file:\/\/\/work\/[^/]+\//, "")}:${cf.lineNumber + 1}`;
    fnSelf.set(key, (fnSelf.get(key) ?? 0) + us);
    const mod = moduleOf(cf.url);
    modSelf.set(mod, (modSelf.get(mod) ?? 0) + us);
    // inclusive time of repo frames: each distinct frame on the stack once
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      if (!/\/(compiler|runtime|bench|generated)\//.test(f.url) || /node_modules/.test(f.url)) continue;
      const k = `${f.functionName || "(anonymous)"}  ${f.url.replace(/^file:\/\/\/work\/[^/]+\//, "")}:${f.lineNumber + 1}`;
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + us);
    }
  }
  const fmt = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%`;
  const rows = (m: Map<string, number>, k: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, us]) => `  ${fmt(us)}  ${name}`)
      .join("\n");
  return [
    `profile: ${(total / 1000).toFixed(0)} ms, ${p.samples.length} samples`,
    `self time by module:`,
    rows(modSelf, 15),
    `self time by function (top ${top}):`,
    rows(fnSelf, top),
    `inclusive time of repository frames (top ${top}):`,
    rows(inclusive, top),
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: "string", default: "25" } } });
  for (const f of positionals) {
    process.stdout.write(`== ${f}\n${summarize(JSON.parse(readFileSync(f, "utf8")) as Profile, Number(values.top))}\n`);
  }
}
