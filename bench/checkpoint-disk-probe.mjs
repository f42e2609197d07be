// A probe of what a checkpoint's file writes cost the segment appends on this disk (not a suite):
// 2 KB O_DSYNC appends every 2 ms (a stream segment) while a 50 MB "checkpoint" is written every
// ~0.5 s with a datasync per MB, either as a new file renamed over the last one (`rename`: the old
// file's blocks freed, the new ones allocated: journal commits) or over the same file in place
// (`inplace`, as runtime/stream/checkpoint.ts writes now), or not at all (`none`: the appends alone); the
// third argument is the bytes written between two datasyncs, in KB (default 1024). Prints the appends'
// latency percentiles.
//   node bench/checkpoint-disk-probe.mjs rename 15 && node bench/checkpoint-disk-probe.mjs inplace 15 256
import { open, rename, rm } from "node:fs/promises";
import { closeSync, constants, existsSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
const mode = process.argv[2]; const dir = mkdtempSync(join(tmpdir(), "fti-disk-probe-")); const secs = Number(process.argv[3] ?? 15);
const seg = openSync(`${dir}/seg`, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_DSYNC);
const line = "x".repeat(2000) + "\n";
const lat = []; let stop = false; const spikes = [];
const t0 = performance.now();
const appender = (async () => { const fh = await open(`${dir}/seg2`, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_DSYNC);
  while (!stop) { const t = performance.now(); await fh.write(line); const d = performance.now() - t; lat.push(d); if (d > 50) spikes.push(`${((t - t0)/1000).toFixed(1)}s:${d.toFixed(0)}`); await new Promise((r) => setTimeout(r, 2)); } await fh.close(); })();
const chunk = Buffer.alloc(Number(process.argv[4] ?? 1024) * 1024, 7); let cps = 0;
const cpTimes = [];
while (mode === "none" && performance.now() - t0 < secs * 1000) await new Promise((r) => setTimeout(r, 100));
while (mode !== "none" && performance.now() - t0 < secs * 1000) {
  const c = performance.now();
  const path = mode === "rename" ? `${dir}/cp.tmp` : `${dir}/cp`;
  const fh = await open(path, mode === "rename" ? "w" : existsSync(path) ? "r+" : "w");
  for (let i = 0; i < (50 << 20) / chunk.length; i++) { await fh.write(chunk, 0, chunk.length, i * chunk.length); await fh.datasync(); }
  await fh.sync(); await fh.close();
  if (mode === "rename") await rename(`${dir}/cp.tmp`, `${dir}/cp`);
  const d = await open(dir, "r"); await d.sync(); await d.close();
  cps++; cpTimes.push((performance.now() - c).toFixed(0));
  await new Promise((r) => setTimeout(r, 500));
}
stop = true; await appender;
lat.sort((a, b) => a - b); const p = (q) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))].toFixed(2);
console.log(`${mode}${mode === "none" ? "" : ` ${chunk.length >> 10} KB`}: ${cps} checkpoints (${cpTimes.join(",")} ms); appends ${lat.length}: p50 ${p(0.5)} p99 ${p(0.99)} p99.9 ${p(0.999)} max ${p(1)} ms; >50ms: ${spikes.join(" ")}`);
closeSync(seg);
rmSync(dir, { recursive: true, force: true });
