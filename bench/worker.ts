// A child process of the bench: `node --import tsx bench/worker.ts <suite>.<task> '<json args>'`.
// Runs one task of bench/suites/<suite>.ts and prints its result as the last
// stdout line, `@@RESULT {...}`, with this process's peak RSS added.

import { writeSync } from "node:fs";

const [task, json] = process.argv.slice(2);
const [suite, name] = (task ?? "").split(".");
if (!suite || !name) {
  process.stderr.write("usage: bench/worker.ts <suite>.<task> '<json args>'\n");
  process.exit(2);
}
const mod = (await import(`./suites/${suite}.ts`)) as { tasks?: Record<string, (args: any) => Promise<Record<string, unknown>>> };
const fn = mod.tasks?.[name];
if (!fn) {
  process.stderr.write(`bench/suites/${suite}.ts has no task ${name}\n`);
  process.exit(2);
}
try {
  const result = await fn(json ? JSON.parse(json) : {});
  const rssKB = process.resourceUsage().maxRSS;
  writeSync(1, `@@RESULT ${JSON.stringify({ ...result, rssKB })}\n`);
  process.exit(0);
} catch (e) {
  process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
}
