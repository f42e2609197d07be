// The online service's streamed rows (online/streamed-rows.ts `StreamedRows.apply`):
// a new row object per update (before) vs the entity's row updated in place
// (now), 3,000,000 updates of 10,000 entities × 8 features beside 1.5 M live
// objects (a live old space like the stream server's state, so major GCs cost
// what they cost there). Prints CPU time and the GCs seen.
//
//   node --import tsx bench/stream-row-update.ts new|inplace
import { PerformanceObserver } from "node:perf_hooks";
const mode = process.argv[2] === "inplace" ? "inplace" : "new";
const names = ["atl_7d", "ctl_42d", "form", "runs_28d", "km_7d", "km_28d", "pace_avg", "hr_avg"];
const rows = new Map<string, { eventMs: number; values: Record<string, unknown> }>();
let major = 0, majorMs = 0, minorMs = 0;
new PerformanceObserver((l) => { for (const e of l.getEntries()) { const k = (e as any).detail?.kind; if (k === 4) { major++; majorMs += e.duration; } else if (k === 1) minorMs += e.duration; } }).observe({ entryTypes: ["gc"] });
// Ballast: a live old space like the server's (the stream state), so major GCs cost what they cost there.
const ballast: object[] = Array.from({ length: 1_500_000 }, (_, i) => ({ i, s: `x${i}` }));
const c0 = process.cpuUsage();
for (let n = 0; n < 3_000_000; n++) {
  const key = `a${n % 10000}`;
  const vals = names.map((_, i) => n * 0.5 + i);
  const row = rows.get(key);
  if (mode === "inplace" && row) { row.eventMs = n; for (let i = 0; i < names.length; i++) row.values[names[i]] = vals[i]; continue; }
  const values: Record<string, unknown> = {};
  names.forEach((f, i) => (values[f] = vals[i]));
  rows.set(key, { eventMs: n, values });
}
const c = process.cpuUsage(c0);
await new Promise((r) => setTimeout(r, 100));
console.log(JSON.stringify({ mode, cpuMs: Math.round((c.user + c.system) / 1000), major, majorMs: Math.round(majorMs), minorMs: Math.round(minorMs), ballast: ballast.length }));
