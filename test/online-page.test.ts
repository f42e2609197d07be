// The prediction page in a real browser (Debian's chromium through
// playwright-core): the form generated from the request schema, a
// prediction equal to the API's answer, feature statuses, ODT values, the
// model's version and metrics, field errors from a 400, and a 422 message.
// Skipped when /usr/bin/chromium is missing, except in CI.

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../runtime/online/http.ts";
import { materialize } from "../runtime/online/materialize.ts";
import { buildToyStore, toyBundle, type ToyStore } from "./helpers/online-toy.ts";

const CHROMIUM = "/usr/bin/chromium";
const run = existsSync(CHROMIUM) || !!process.env.CI;

describe.skipIf(!run)("prediction page", () => {
  let toy: ToyStore;
  let server: RunningServer;
  let context: BrowserContext;
  let page: Page;
  let profile: string;

  beforeAll(async () => {
    const bundle = toyBundle({ serves: [{ model: "toy_request", online: true }, { model: "toy_gbdt", online: true }] });
    toy = await buildToyStore({ train: ["toy_request", "toy_gbdt"], bundle });
    await toy.withStore((store) => materialize(store, bundle));
    server = await startServer(bundle, { port: 0, store: toy.storePath, logs: false });
    profile = mkdtempSync(join(tmpdir(), "fti-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
    page = context.pages()[0] ?? (await context.newPage());
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await server?.close();
    toy?.cleanup();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  async function api(model: string, body: unknown) {
    const res = await fetch(`${server.url}/v1/models/${model}/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return (await res.json()) as any;
  }

  it("GET / lists the served models and links to their pages", async () => {
    await page.goto(server.url + "/");
    expect(await page.title()).toBe("fti · toy");
    const links = await page.locator("#models a.model").allTextContents();
    expect(links).toEqual(["toy_request", "toy_gbdt"]);
    await page.click("text=toy_request");
    await page.waitForURL(`${server.url}/models/toy_request`);
  });

  it("the form is generated from the request schema, and shows the version and test metrics", async () => {
    await page.goto(server.url + "/models/toy_request");
    expect(await page.locator("h1").textContent()).toBe("toy_request");
    expect(await page.locator("label[for=f-user_id]").textContent()).toContain("string · entity key");
    expect(await page.locator("label[for=f-amount]").textContent()).toContain("float · request field");
    expect(await page.locator("#f-amount").getAttribute("inputmode")).toBe("decimal");
    expect(await page.locator("#model-version").textContent()).toBe("v1");
    const metrics = await page.locator("#metrics td:first-child").allTextContents();
    expect(metrics.sort()).toEqual(["mae", "r2", "rmse"]);
  });

  it("fill, submit: the prediction shown equals the API's answer, with feature statuses and ODT values", async () => {
    await page.goto(server.url + "/models/toy_request");
    await page.fill("#f-user_id", "u03");
    await page.fill("#f-amount", "2.5");
    await page.click("#submit");
    await page.locator("#result").waitFor({ state: "visible" });
    const expected = await api("toy_request", { user_id: "u03", amount: 2.5 });
    const shown = await page.locator("#prediction").getAttribute("data-value");
    expect(Number(shown)).toBe(expected.prediction);
    expect(await page.locator("#prediction").textContent()).toMatch(/^-?\d/);
    expect(await page.locator("#result-meta").textContent()).toContain("toy_request v1");
    const statuses = await page.locator("#features tr[data-feature] .badge").allTextContents();
    expect(statuses).toHaveLength(3);
    expect(statuses).toContain("present");
    const boost = await page.locator('#odts tr[data-odt="boost"] td.num').textContent();
    expect(Number(boost)).toBeCloseTo(expected.odts.boost, 3);
    expect(await page.locator("#error").isVisible()).toBe(false);
  });

  it("an invalid request shows the error next to each field, from the 400's paths", async () => {
    await page.goto(server.url + "/models/toy_request");
    await page.fill("#f-user_id", "");
    await page.fill("#f-amount", "abc");
    await page.click("#submit");
    await expect.poll(() => page.locator("#e-amount").textContent()).toMatch(/expected number/);
    expect(await page.locator("#e-user_id").textContent()).toMatch(/expected string/);
    expect(await page.locator("#f-amount").getAttribute("aria-invalid")).toBe("true");
    expect(await page.locator("#error").isVisible()).toBe(false);
    // Fixing the fields clears the errors.
    await page.fill("#f-user_id", "u04");
    await page.fill("#f-amount", "1");
    await page.click("#submit");
    await expect.poll(() => page.locator("#prediction").getAttribute("data-value")).toBe(String((await api("toy_request", { user_id: "u04", amount: 1 })).prediction));
    expect(await page.locator("#e-amount").textContent()).toBe("");
    expect(await page.locator("#f-amount").getAttribute("aria-invalid")).toBeNull();
  });

  it("an unknown entity on a model that cannot impute shows the 422 message", async () => {
    await page.goto(server.url + "/models/toy_gbdt");
    await page.fill("#f-user_id", "nobody");
    await page.click("#submit");
    await page.locator("#error").waitFor({ state: "visible" });
    expect(await page.locator("#error").textContent()).toMatch(/^Error 422: model `toy_gbdt` cannot predict without these features/);
    expect((await fetch(server.url + "/healthz")).status).toBe(200);
  });

  it("an unknown model page is a 404 page", async () => {
    const res = await page.goto(server.url + "/models/nope");
    expect(res?.status()).toBe(404);
    expect(await page.locator("h1").textContent()).toBe("Not found");
  });
});
