// The main job (`npm start`): the athlete example end to end, through the same
// commands a user runs.
//   1. generate seeded synthetic activities and athlete profiles (specs/data/athlete/)
//   2. fti compile specs/athlete.fti
//   3. fti features  → feature groups in the store
//   4. fti train     → time_estimator and route_pace (athlete × route) in the registry
//   5. fti materialize → the online store, so `fti serve` can answer right away
//   6. fti predict   → predictions.time_estimator and .route_pace for a set of planned runs
//   7. a summary
// Size: FTI_DEMO_ATHLETES (default 200) athletes over FTI_DEMO_DAYS (default 730)
// days. The history ends yesterday, so the features are fresh today: the
// view's ttl (90 days) holds for `fti serve` as for batch inference.

import fs from "node:fs";
import path from "node:path";
import { main } from "../compiler/cli/main.ts";
import { openStore } from "../runtime/store/store.ts";
import { athleteId, athleteProfile, ROUTES, routeId, writeAthleteCsv, writeAthleteProfilesCsv } from "./athlete.data.ts";
import { writeCoachNotes } from "./athlete.notes.ts";

const SPEC = "specs/athlete.fti";
const DATA_DIR = "specs/data/athlete";
const PLANNED = path.join(DATA_DIR, "planned_runs.csv");
const SEED = 7;

async function step(title: string, argv: string[]): Promise<void> {
  process.stdout.write(`\n▶ ${title}: fti ${argv.join(" ")}\n`);
  const code = await main(["node", "fti", ...argv]);
  if (code !== 0) {
    process.stderr.write(`✗ \`fti ${argv.join(" ")}\` exited with ${code}\n`);
    process.exit(code);
  }
}

/** Each athlete plans a run: distance, climb, route and the pace they hope for, from their own profile. */
function writePlannedRuns(athletes: number): void {
  const lines = ["athlete_id,distance_km,elevation_gain_m,planned_pace_min_km,route_id"];
  for (let i = 0; i < athletes; i++) {
    const p = athleteProfile(i, SEED, athletes);
    const distance = [5, 10, 21.1, 42.2][i % 4];
    const climb = (i % 5) * 40;
    lines.push(`${athleteId(i, athletes)},${distance},${climb},${(p.thresholdPace * 1.08).toFixed(2)},${routeId(i % ROUTES)}`);
  }
  fs.writeFileSync(PLANNED, lines.join("\n") + "\n");
}

async function run(): Promise<void> {
  const t0 = Date.now();
  const athletes = Number(process.env.FTI_DEMO_ATHLETES ?? 200);
  const days = Number(process.env.FTI_DEMO_DAYS ?? 730);
  fs.mkdirSync(DATA_DIR, { recursive: true });
  process.stdout.write(`▶ generating ${athletes} athletes × ${days} days of activities (seed ${SEED})\n`);
  const start = new Date(Date.now() - (days + 1) * 86_400_000).toISOString().slice(0, 10);
  const data = await writeAthleteCsv({ athletes, days, start, seed: SEED, path: path.join(DATA_DIR, "activities.csv") });
  writePlannedRuns(athletes);
  const profiles = await writeAthleteProfilesCsv({ athletes, days, start, seed: SEED, path: path.join(DATA_DIR, "profiles.csv") });
  process.stdout.write(`  ${data.rows} activities from ${start} → ${DATA_DIR}/activities.csv\n`);
  process.stdout.write(`  ${profiles} profile rows (reference data, max HR re-measured for some) → ${DATA_DIR}/profiles.csv\n`);
  const notes = writeCoachNotes(path.join(DATA_DIR, "activities.csv"), path.join(DATA_DIR, "coach_notes.csv"), SEED);
  process.stdout.write(`  ${notes} coaching notes → ${DATA_DIR}/coach_notes.csv\n`);

  await step("compile", ["compile", SPEC]);
  await step("feature pipeline", ["features", SPEC]);
  await step("training pipeline", ["train", SPEC, "time_estimator"]);
  await step("training pipeline, athlete × route", ["train", SPEC, "route_pace"]);
  await step("online store", ["materialize", SPEC]);
  await step("batch inference", ["predict", SPEC, "time_estimator", "--entities", PLANNED]);
  await step("batch inference, athlete × route", ["predict", SPEC, "route_pace", "--entities", PLANNED]);
  await step("retrieval (point in time)", ["search", SPEC, "notes", "--query", "hilly long run, legs felt heavy", "--entity", `athlete_id=${athleteId(0, athletes)}`, "--k", "3"]);
  await summary(Date.now() - t0);
}

async function summary(ms: number): Promise<void> {
  const store = await openStore({ path: process.env.FTI_STORE });
  try {
    const one = async (sql: string) => (await store.all<Record<string, unknown>>(sql))[0];
    const activities = await one("SELECT count(*) AS n FROM src_activities");
    const fitness = await one("SELECT count(*) AS n FROM fg_fitness_v1");
    const model = await one(
      "SELECT version, stage, metrics, baseline FROM fti_models WHERE model = 'time_estimator' ORDER BY version DESC LIMIT 1",
    );
    const metrics = parse(model.metrics);
    const baseline = parse(model.baseline);
    const preds = await store.all<Record<string, unknown>>(
      "SELECT athlete_id, round(prediction / 60, 1) AS minutes FROM predictions.time_estimator " +
        "WHERE as_of = (SELECT max(as_of) FROM predictions.time_estimator) ORDER BY athlete_id LIMIT 5",
    );
    const planned = new Map(
      fs.readFileSync(PLANNED, "utf8").trim().split("\n").slice(1).map((l) => {
        const [id, km, climb, pace] = l.split(",");
        return [id, { km, climb, pace }];
      }),
    );
    const { spec } = await import("../generated/athlete/index.ts");
    const view = spec.views.find((v) => v.name === "time_estimator_data")!;
    const line = "─".repeat(64);
    process.stdout.write(`\n${line}\nfti · athlete time estimator\n${line}\n`);
    process.stdout.write(`activities (valid)      ${activities.n}\n`);
    process.stdout.write(`fitness feature rows    ${fitness.n}\n`);
    process.stdout.write(`features                ${view.features.length} stored (MITs) + ${view.odts.length} on-demand (ODTs): ${[...view.features.map((f) => f.name), ...view.odts.map((o) => o.name)].join(", ")}\n`);
    process.stdout.write(`model                   time_estimator@${model.version} (${model.stage})\n`);
    process.stdout.write(`test MAE                ${fmtSeconds(metrics.mae)}   (baseline ${fmtSeconds(baseline.mae)}, ${(100 * (1 - metrics.mae / baseline.mae)).toFixed(0)}% better)\n`);
    process.stdout.write(`test R²                 ${metrics.r2?.toFixed(3)}\n`);
    const route = await one("SELECT version, metrics, baseline FROM fti_models WHERE model = 'route_pace' ORDER BY version DESC LIMIT 1");
    const rm = parse(route.metrics);
    const rb = parse(route.baseline);
    process.stdout.write(`route_pace@${route.version}            pace (min/km) from the athlete's fitness and the route's stats: test MAE ${rm.mae.toFixed(3)} (baseline ${rb.mae.toFixed(3)})\n`);
    process.stdout.write(`predictions             planned runs, as of now:\n`);
    for (const p of preds) {
      const plan = planned.get(String(p.athlete_id));
      process.stdout.write(`  ${String(p.athlete_id).padEnd(8)} ${plan?.km.padStart(5)} km, +${plan?.climb} m at ${plan?.pace} min/km planned → ${p.minutes} min\n`);
    }
    process.stdout.write(`${line}\ndone in ${(ms / 1000).toFixed(1)} s · store ${store.path}\n`);
    process.stdout.write(`next: npx fti serve ${SPEC}   (a prediction page at http://127.0.0.1:8080/)\n`);
    process.stdout.write(`agent: FTI_LLM_URL=http://127.0.0.1:8080/v1 npx fti serve ${SPEC} --port 8081, then POST /v1/agents/coach/chat (README: Agents)\n`);
  } finally {
    await store.close();
  }
}

function parse(v: unknown): Record<string, number> {
  return typeof v === "string" ? JSON.parse(v) : (v as Record<string, number>);
}

function fmtSeconds(s: number): string {
  return `${s.toFixed(0)} s (${(s / 60).toFixed(1)} min)`;
}

await run();
