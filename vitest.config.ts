import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // DuckDB and onnxruntime are native: forks isolate them best. Two cores here.
    pool: "forks",
    maxWorkers: 2,
    // Generous: a timeout catches a hang, not slowness. Shared 2-core machines
    // under load run these suites several times slower than CI does.
    testTimeout: 300_000,
    hookTimeout: 600_000,
  },
});
