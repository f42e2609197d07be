// The monitoring page in Debian's Chromium (playwright-core): after a tick of
// fti run (monitor → drift → retrain → promotion), /monitor/<model> draws
// each measured value — drift per input, volume, the prediction mean — with
// the number the store holds, marks the promoted version, lists the runs; and
// /metrics carries the same numbers as Prometheus gauges.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MonitorRow } from "../runtime/monitor/results.ts";
import { readMonitorRows } from "../runtime/monitor/results.ts";
import { monitoringExtension } from "../runtime/monitor-page/extension.ts";
import { startServer, type RunningServer } from "../runtime/online/http.ts";
import { tickOnce } from "../runtime/orchestrator/run.ts";
import { T0 } from "./helpers/model-bundles.ts";
import { buildRetrainToy, DAY, NOW, type RetrainToy } from "./helpers/retrain-toy.ts";

const CHROMIUM = "/usr/bin/chromium";
const run = existsSync(CHROMIUM) || !!process.env.CI;

describe.skipIf(!run)("monitoring page", () => {
  let toy: RetrainToy;
  let server: RunningServer;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  let rows: MonitorRow[];

  beforeAll(async () => {
    toy = await buildRetrainToy();
    await toy.withStore((s) => s.run(`UPDATE src_events SET y = y + 30 WHERE ts >= ?`, [new Date(T0 + 200 * DAY)]));
    await tickOnce(toy.bundle, NOW, { storePath: toy.storePath, logsDir: toy.logsDir });
    rows = await toy.withStore((s) => readMonitorRows(s, "toy_request"));
    server = await startServer(toy.bundle, { port: 0, store: toy.storePath, logs: false, extensions: [monitoringExtension()] });
    profile = mkdtempSync(join(tmpdir(), "fti-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
    page = context.pages()[0] ?? (await context.newPage());
    await page.goto(server.url + "/monitor/toy_request");
  }, 300_000);

  afterAll(async () => {
    await context?.close();
    await server?.close();
    toy?.cleanup();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  const stored = (subject: string, measure: string) =>
    rows.filter((r) => r.subject === subject && r.measure === measure).map((r) => [r.window_start.toISOString(), r.value] as const).sort();

  async function drawn(selector: string): Promise<Array<readonly [string, number]>> {
    const points = await page.locator(selector).evaluateAll((els) => els.map((e) => [e.getAttribute("data-x")!, Number(e.getAttribute("data-value"))] as const));
    return points.sort();
  }

  it("shows the promoted version and the number of monitored windows", async () => {
    expect(await page.locator("h1").textContent()).toBe("monitor · toy_request");
    expect(await page.locator("#model-version").textContent()).toBe("v2");
    const windows = new Set(rows.map((r) => r.window_start.getTime())).size;
    expect(windows).toBeGreaterThan(1);
    expect(Number(await page.locator("#windows").getAttribute("data-count"))).toBe(windows);
  });

  it("draws the PSI of every input per window with the stored value, and the retrain threshold", async () => {
    for (const input of ["x1", "x2", "cat", "boost"]) {
      expect(await drawn(`#drift-psi circle.point[data-series="${input}"]`)).toEqual(stored(`feature:${input}`, "psi"));
    }
    expect(await page.locator("#drift-psi line.threshold").getAttribute("data-value")).toBe("0.25");
    // The drifted input is above the threshold in the windows after the shift.
    const late = (await drawn(`#drift-psi circle.point[data-series="x1"]`)).filter(([x]) => Date.parse(x) >= T0 + 241 * DAY);
    expect(late.length).toBeGreaterThan(0);
    expect(late.every(([, v]) => v > 0.25)).toBe(true);
  });

  it("draws volume bars, the prediction mean, and marks the promotion", async () => {
    expect(await drawn(`#volume rect.bar[data-series="scored"]`)).toEqual(stored("traffic", "requests"));
    expect(await drawn(`#prediction-mean circle.point[data-series="served"]`)).toEqual(stored("prediction", "mean"));
    expect(await page.locator(`#drift-psi line.marker[data-label="v2 promoted"]`).count()).toBe(1);
    expect(await page.locator(`#drift-psi line.marker[data-label="v2 promoted"]`).getAttribute("data-x")).toBe(NOW.toISOString());
  });

  it("lists the runs of fti run", async () => {
    const kinds = await page.locator("#runs tr.run").evaluateAll((els) => els.map((e) => `${e.getAttribute("data-kind")}:${e.getAttribute("data-status")}`));
    expect(kinds).toEqual(expect.arrayContaining(["retrain:ok", "monitor:ok"]));
  });

  it("/metrics: the latest window's measures as gauges", async () => {
    const text = await (await fetch(server.url + "/metrics")).text();
    const last = Math.max(...rows.map((r) => r.window_start.getTime()));
    const psi = rows.find((r) => r.window_start.getTime() === last && r.subject === "feature:x1" && r.measure === "psi")!.value;
    const m = /^fti_monitor_psi\{model="toy_request",column="x1"\} (\S+)$/m.exec(text);
    expect(m, text).not.toBeNull();
    expect(Number(m![1])).toBe(psi);
    expect(text).toMatch(new RegExp(`^fti_monitor_window_start_seconds\\{model="toy_request"\\} ${last / 1000}$`, "m"));
    expect(text).toMatch(/^fti_monitor_requests\{model="toy_request"\} 6$/m);
  });
});
