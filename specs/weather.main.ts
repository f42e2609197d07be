// The weather example (`npm run weather`): real data, the daily weather of
// Seattle and New York 2012–2015 from the vega-datasets package, through the
// same commands a user runs. Forecasts each city's maximum temperature for
// 2016-01-01 from the days before it, with a GBDT and a linear model.

import fs from "node:fs";
import path from "node:path";
import { main } from "../compiler/cli/main.ts";
import { openStore } from "../runtime/store/store.ts";

const SPEC = "specs/weather.fti";
const ENTITIES = "specs/data/weather/forecast_days.csv";

async function step(title: string, argv: string[]): Promise<void> {
  process.stdout.write(`\n▶ ${title}: fti ${argv.join(" ")}\n`);
  const code = await main(["node", "fti", ...argv]);
  if (code !== 0) {
    process.stderr.write(`✗ \`fti ${argv.join(" ")}\` exited with ${code}\n`);
    process.exit(code);
  }
}

async function run(): Promise<void> {
  fs.mkdirSync(path.dirname(ENTITIES), { recursive: true });
  // The day to forecast is a request field: its month is an on-demand feature.
  fs.writeFileSync(ENTITIES, "location,date\nSeattle,2016-01-01\nNew York,2016-01-01\n");
  await step("compile", ["compile", SPEC]);
  await step("feature pipeline", ["features", SPEC]);
  await step("training pipeline (gbdt)", ["train", SPEC, "tmax_forecast"]);
  await step("training pipeline (linear)", ["train", SPEC, "tmax_linear"]);
  await step("batch inference", ["predict", SPEC, "tmax_forecast", "--entities", ENTITIES, "--as-of", "2016-01-01"]);

  const store = await openStore({ path: process.env.FTI_STORE });
  try {
    const models = await store.all<{ model: string; version: number; metrics: string; baseline: string }>(
      "SELECT model, version, metrics, baseline FROM fti_models WHERE model LIKE 'tmax_%' QUALIFY row_number() OVER (PARTITION BY model ORDER BY version DESC) = 1 ORDER BY model",
    );
    const preds = await store.all<{ location: string; prediction: number }>(
      "SELECT location, round(prediction, 1) AS prediction FROM predictions.tmax_forecast ORDER BY location",
    );
    process.stdout.write("\nweather · tomorrow's maximum temperature (test split: 2015)\n");
    for (const m of models) {
      const metrics = JSON.parse(m.metrics) as Record<string, number>;
      const baseline = JSON.parse(m.baseline) as Record<string, number>;
      process.stdout.write(`  ${m.model}@${m.version}: MAE ${metrics.mae.toFixed(2)} °C (baseline ${baseline.mae.toFixed(2)} °C), R² ${metrics.r2.toFixed(3)}\n`);
    }
    for (const p of preds) process.stdout.write(`  forecast for 2016-01-01, ${p.location}: ${p.prediction} °C\n`);
  } finally {
    await store.close();
  }
}

await run();
