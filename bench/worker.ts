// A child process of the bench: `node --import tsx bench/worker.ts <suite>.<task> '<json args>'`.
// Runs one task of bench/suites/<suite>.ts and prints its result as the last
// stdout line, `@@RESULT {...}`, with this process's peak RSS added.

import { writeSync } from "node:fs";

/**
 * Writes all of `text` to stdout before the exit: a pipe takes 64 KB at a
 * time, and one writeSync of a larger result (a latency list) wrote part of it.
 */
function writeAll(text: string): void {
  const bytes = Buffer.from(text);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let at = 0; at < bytes.length; ) {
    try {
      at += writeSync(1, bytes, at, bytes.length - at);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
      Atomics.wait(pause, 0, 0, 1); // the reader is behind: wait a millisecond
    }
  }
}

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
  writeAll(`@@RESULT ${JSON.stringify({ ...result, rssKB })}\n`);
  process.exit(0);
} catch (e) {
  process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
}
