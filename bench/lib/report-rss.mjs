// Preloaded (`node --import`) into cold processes the bench times: at exit,
// writes the process's peak RSS and CPU time to $FTI_BENCH_RSS_FILE.
import { writeFileSync } from "node:fs";

const file = process.env.FTI_BENCH_RSS_FILE;
if (file) {
  process.on("exit", () => {
    const u = process.resourceUsage();
    writeFileSync(file, JSON.stringify({ rssKB: u.maxRSS, cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000 }));
  });
}
