// Same-process A/B of `fti training-data` variants on the pit suite's
// event-shaped store (3 M events; `npm run bench -- pit --pit-case events`
// builds it, cached in bench/.data/events-<events>x<users>/events.duckdb):
// exportTrainingData with each variant in turn, alternated round by round,
// wall and process CPU (DuckDB's threads included), and the load beside them.
//
//   npx tsx bench/export-ab.ts [--events 3000000] [--users 300] [--rounds 3] [--variants auto,js,unordered]
//
// Variants: `auto` (ODTs with an exact SQL form as DuckDB macros), `js` (every
// ODT through its generated compute, the JS scalar function), `unordered`
// (auto, without the sort into spine order: --unordered), `cap720` / `cap768` /
// `cap1g` (auto at a 720 MB / 768 MB / 1 GB export cap instead of the default
// 760 MB). Beside each: the two busiest DuckDB threads' time blocked (neither
// on a CPU nor waiting for one) and (their CPU + that) / 2, what the export
// would take on two idle cores if nothing else waited (proc-cpu.ts busiestBlocked).

import { loadavg } from "node:os";
import { join } from "node:path";
import { rmSync } from "node:fs";
import { parseArgs } from "node:util";
import { exportTrainingData, type ExportOptions } from "../runtime/retrieval/export.ts";
import { openStore } from "../runtime/store/store.ts";
import { DATA, timed } from "./lib/harness.ts";
import { busiestBlocked, perThreadSchedMs } from "./lib/proc-cpu.ts";
import { EVENTS_GEN_DIR, EVENTS_SPEC_FILE, ensureCompiled, loadCompiled } from "./lib/spec.ts";

const VARIANTS: Record<string, ExportOptions> = {
  auto: { odts: "auto" },
  js: { odts: "js" },
  unordered: { odts: "auto", unordered: true },
  cap720: { odts: "auto", memoryLimit: "720MB" },
  cap768: { odts: "auto", memoryLimit: "768MB" },
  cap1g: { odts: "auto", memoryLimit: "1GB" },
};

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "3000000" },
    users: { type: "string", default: "300" },
    rounds: { type: "string", default: "3" },
    variants: { type: "string", default: "auto,js" },
  },
});
const dir = join(DATA, `events-${values.events}x${values.users}`);
await ensureCompiled(EVENTS_SPEC_FILE, EVENTS_GEN_DIR);
const bundle = await loadCompiled(EVENTS_GEN_DIR, { events: join(dir, "events.parquet") });
const store = await openStore({ path: join(dir, "events.duckdb") });
const names = values.variants.split(",");
const out = join(dir, "export-ab.parquet");
try {
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const name of names) {
      const opts = VARIANTS[name];
      if (!opts) throw new Error(`unknown variant ${name}: ${Object.keys(VARIANTS).join(", ")}`);
      rmSync(out, { force: true });
      const load = loadavg()[0].toFixed(1);
      const before = perThreadSchedMs(process.pid);
      const t = await timed(() => exportTrainingData(store, bundle, "click_data", out, opts));
      const b = busiestBlocked(process.pid, before, perThreadSchedMs(process.pid), t.ms, 2);
      console.log(
        `round ${r + 1} ${name.padEnd(9)} rows ${t.value}  wall ${t.ms.toFixed(0)} ms  CPU ${t.cpuMs.toFixed(0)} ms  ` +
          `blocked ${b.blocked.toFixed(0)} ms  two idle cores ~${((b.run + b.blocked) / 2).toFixed(0)} ms  (load ${load} → ${loadavg()[0].toFixed(1)})`,
      );
    }
  }
} finally {
  rmSync(out, { force: true });
  await store.close();
}
