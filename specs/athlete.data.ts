// Synthetic data for the athlete example (specs/athlete.fti, source `activities`).
//
// A seeded, streaming simulation of runners. Each athlete has a threshold pace,
// a max HR, a weekly routine and preferred sports/distances; fitness follows a
// Banister impulse-response model over days (CTL 42 d, ATL 7 d, fed by each
// day's TSS), and each run's pace is derived from threshold pace × fitness /
// fatigue × distance (Riegel-like) × climb × sport × noise. The planned pace is
// the athlete's own noisy, fatigue-blind estimate of it. See specs/CONTEXT.md.
//
// Importing this module has no side effects (DuckDB is loaded lazily by
// writeAthleteParquet). Run it directly for a CLI:
//   npx tsx specs/athlete.data.ts --athletes 200 --out specs/data/athlete/activities.csv
//   npx tsx specs/athlete.data.ts --athletes 10000 --activities-per-athlete 1000 --out /tmp/acts.parquet

import { closeSync, openSync, writeFileSync, writeSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { mulberry32 } from "../runtime/random.ts";

// ------------------------------------------------------------------ public types

export const SPORTS = ["run", "trail", "treadmill"] as const;
export type Sport = (typeof SPORTS)[number];

/** One row of the `activities` source; column names and order match the spec. */
export interface ActivityRow {
  activity_id: string;
  athlete_id: string;
  /** UTC, `YYYY-MM-DD HH:MM:SS`, minute resolution. */
  started_at: string;
  /** One of SPORTS (only bad rows carry anything else). */
  sport: string;
  distance_km: number;
  /** Whole seconds. NaN only in a `non_numeric_time` bad row (written as `n/a`). */
  elapsed_time_s: number;
  elevation_gain_m: number;
  planned_pace_min_km: number;
  /** Null when no HR strap was worn (~15% of rows). */
  avg_hr: number | null;
  /** A shared route (`r01`…`r40`, each run by many athletes), or `treadmill`. */
  route_id: string;
}

export const ACTIVITY_COLUMNS = [
  "activity_id",
  "athlete_id",
  "started_at",
  "sport",
  "distance_km",
  "elapsed_time_s",
  "elevation_gain_m",
  "planned_pace_min_km",
  "avg_hr",
  "route_id",
] as const satisfies ReadonlyArray<keyof ActivityRow>;

export interface AthleteDataOptions {
  /** Number of athletes (ids a0001, a0002, ...; wider when > 9999). */
  athletes: number;
  /** Days simulated from `start` (default 730). Ignored when activitiesPerAthlete is set. */
  days?: number;
  /** ISO date of the first day, default 2024-01-01 (UTC). */
  start?: string;
  /** PRNG seed, default 42. */
  seed?: number;
  /**
   * Bench scaling: emit exactly this many activities per athlete. The
   * simulation then runs past `days` for as long as each athlete needs (an
   * athlete running 3×/week needs ~6.5 years for 1,000 runs).
   */
  activitiesPerAthlete?: number;
  /**
   * Fraction of rows corrupted to violate the spec (negative distance, unknown
   * sport, non-numeric time, ...), default 0. Corruption uses its own random
   * stream: the other rows are identical to a clean run with the same seed.
   */
  badRowFraction?: number;
  /**
   * Drift for the monitoring example (specs/athlete.drift.ts): from `from`
   * (ISO date) on, a cohort of athletes — each athlete with probability
   * `share`, chosen by a hash of its index, not the PRNG — follows a new
   * training plan: its runs take `paceFactor` times as long as before
   * (0.9 = 10% faster), and it plans them that way too. Without it the data
   * is unchanged (no random draw depends on it).
   */
  drift?: { from: string; share: number; paceFactor: number };
}

export const BAD_ROW_KINDS = [
  "negative_distance",
  "unknown_sport",
  "non_numeric_time",
  "negative_elevation",
  "zero_planned_pace",
  "duplicate_id",
] as const;
export type BadRowKind = (typeof BAD_ROW_KINDS)[number];

/** The hidden per-athlete parameters (exported for tests and docs). */
export interface AthleteProfile {
  index: number;
  athleteId: string;
  /** Threshold pace (min/km) when detrained (CTL = ATL = 0), 3.6–6.5. */
  thresholdPace: number;
  /** Age (years) at the start of the data. */
  age: number;
  maxHr: number;
  /** Banister gains on log-speed per TSS/day: capacity = -ln(thresholdPace) + k1·CTL − k2·ATL. */
  k1: number;
  k2: number;
  /** Typical runs per week, 2–6. */
  runsPerWeek: number;
  /** Typical easy-run distance (km). */
  easyKm: number;
  longRunRatio: number;
  /** Pace ∝ (distance/10 km)^(riegel − 1). */
  riegel: number;
  /** Easy-run pace as a multiple of threshold pace. */
  easyEffort: number;
  /** Sport preferences (probabilities for a non-race session, before the winter shift). */
  pTrail: number;
  pTreadmill: number;
  /** Elevation gain per km on the athlete's road routes and trails (m/km). */
  roadClimb: number;
  trailClimb: number;
  /** Pace slowdown per m/km of climb (e.g. 0.0035 → +3.5% at 10 m/km). */
  climbCost: number;
  /** Pace multiplier on trails (technical terrain) and on the treadmill. */
  trailFactor: number;
  treadmillFactor: number;
  /** Day-to-day multiplicative pace noise (log sd). */
  paceNoise: number;
  /** Planned-pace bias (log; < 0 = optimistic) and noise (log sd). */
  planBias: number;
  planNoise: number;
  /** Probability of wearing an HR strap on a run. */
  hrStrapProb: number;
  /** Preferred start hour (UTC) on weekdays. */
  startHour: number;
  /** Probability per week of an injury/illness gap starting. */
  injuryRate: number;
  /** Recovery-week cycle length in weeks (0 = none). */
  restCycle: number;
  /** Seasonal volume swing and its peak day of year; long-term volume trend over the period. */
  seasonAmp: number;
  seasonPeak: number;
  trend: number;
  /** Preferred race distance (km). */
  raceKm: number;
  racesPerYear: number;
}

/** The hidden state behind one row (for tests and analysis). */
export interface ActivityTruth {
  profile: AthleteProfile;
  session: SessionType;
  /** Banister state at the start of the day of the run (before it). */
  ctl: number;
  atl: number;
  /** Threshold pace that day: thresholdPace · exp(−(k1·CTL − k2·ATL)). */
  currentThreshold: number;
  /** Moving pace actually run (min/km), before rounding and stops. */
  pace: number;
  tss: number;
  bad: BadRowKind | null;
}

export type SessionType = "easy" | "recovery" | "long" | "workout" | "race";

// ------------------------------------------------------------------ PRNG

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** mulberry32 with Box–Muller normals. Seeded from (seed, athlete, stream). */
export class Rng {
  readonly next: () => number;
  private spare = NaN;
  constructor(...keys: number[]) {
    let h = 0x9e3779b9;
    for (const k of keys) h = mix32((h ^ mix32((k | 0) + 0x632be5ab)) + 0x7f4a7c15);
    this.next = mulberry32(h >>> 0);
  }
  uniform(a: number, b: number): number {
    return a + (b - a) * this.next();
  }
  int(a: number, b: number): number {
    return a + Math.floor((b - a + 1) * this.next());
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const v = this.spare;
      this.spare = NaN;
      return v;
    }
    let u = this.next();
    while (u <= 1e-12) u = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    const th = 2 * Math.PI * this.next();
    this.spare = r * Math.sin(th);
    return r * Math.cos(th);
  }
  /** exp(N(mu, sd)) */
  logNormal(mu: number, sd: number): number {
    return Math.exp(mu + sd * this.normal());
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
}

const clamp = (x: number, lo: number, hi: number) => (x < lo ? lo : x > hi ? hi : x);
const round = (x: number, decimals: number) => {
  const f = 10 ** decimals;
  return Math.round(x * f) / f;
};

// ------------------------------------------------------------------ athletes

const STREAM_PROFILE = 1;
const STREAM_SIM = 2;
const STREAM_BAD = 3;
/** Route choices draw from their own stream: adding routes left every other draw as it was. */
const STREAM_ROUTE = 5;
/** Shared routes r01…r40; each athlete runs a few home routes of them. */
export const ROUTES = 40;
const HOME_ROUTES = 4;

export function routeId(k: number): string {
  return `r${String(k + 1).padStart(2, "0")}`;
}

/**
 * How much slower than flat road a route is run, beyond its climb: surface,
 * turns, crossings, wind. In [0.96, 1.08); athletes' planned paces ignore it,
 * so the pace of everyone else on the route tells a model something the plan does not.
 */
export function routeFactor(k: number): number {
  return 0.96 + 0.12 * (mix32(Math.imul(k + 1, 0x9e3779b1)) / 4294967296);
}
const STREAM_PROFILE_ROWS = 4;
const DAY_MS = 86_400_000;
const CTL_DAYS = 42;
const ATL_DAYS = 7;
const BURN_IN_DAYS = 84;
const RACE_DISTANCES = [5, 10, 21.0975, 42.195] as const;

export function athleteIdWidth(athletes: number): number {
  return Math.max(4, String(athletes).length);
}

export function athleteId(index: number, athletes: number): string {
  return "a" + String(index + 1).padStart(athleteIdWidth(athletes), "0");
}

/** The hidden parameters of athlete `index` (0-based); depends only on (seed, index). */
export function athleteProfile(index: number, seed = 42, athletes = index + 1): AthleteProfile {
  const r = new Rng(seed, index, STREAM_PROFILE);
  // Training frequency 2–6 per week; frequent runners tend to be faster and run longer.
  const runsPerWeek = clamp(2 + 4 * Math.pow(r.next(), 1.15), 2, 6);
  const freqZ = (runsPerWeek - 4) / 1.2;
  const thresholdPace = clamp(5.15 - 0.28 * freqZ + 0.55 * r.normal(), 3.6, 6.5);
  const age = r.uniform(18, 60);
  const maxHr = Math.round(clamp(208 - 0.7 * age + 6 * r.normal(), 165, 210));
  const easyKm = clamp(7 * Math.exp(0.15 * freqZ + 0.28 * r.normal()) * (5.2 / thresholdPace) ** 0.5, 3.5, 16);
  const trailLover = r.chance(0.25);
  const pTrail = trailLover ? r.uniform(0.25, 0.6) : r.uniform(0, 0.08);
  const pTreadmill = r.chance(0.3) ? r.uniform(0.1, 0.35) : r.uniform(0, 0.05);
  const raceKm = easyKm > 10 && r.chance(0.5) ? r.pick(RACE_DISTANCES.slice(2)) : r.pick(RACE_DISTANCES.slice(0, 3));
  const slot = r.next();
  const startHour = slot < 0.55 ? r.uniform(5.5, 7.5) : slot < 0.7 ? r.uniform(11, 12.5) : r.uniform(16.5, 19.5);
  return {
    index,
    athleteId: athleteId(index, athletes),
    thresholdPace,
    age,
    maxHr,
    k1: r.uniform(0.0022, 0.0034),
    k2: r.uniform(0.0012, 0.0020),
    runsPerWeek,
    easyKm,
    longRunRatio: r.uniform(1.5, 2.4),
    riegel: r.uniform(1.04, 1.09),
    easyEffort: r.uniform(1.16, 1.3),
    pTrail,
    pTreadmill,
    roadClimb: clamp(r.logNormal(Math.log(8), 0.6), 1, 35),
    trailClimb: r.uniform(20, 70),
    climbCost: r.uniform(0.0028, 0.0042),
    trailFactor: r.uniform(1.04, 1.14),
    treadmillFactor: r.uniform(0.96, 0.99),
    paceNoise: r.uniform(0.02, 0.035),
    planBias: 0.03 * r.normal(),
    planNoise: r.uniform(0.025, 0.055),
    hrStrapProb: r.chance(0.08) ? r.uniform(0, 0.2) : r.uniform(0.84, 0.98),
    startHour,
    injuryRate: r.uniform(0.004, 0.03),
    restCycle: r.chance(0.6) ? r.int(3, 4) : 0,
    seasonAmp: r.uniform(0.05, 0.3),
    seasonPeak: r.uniform(120, 260),
    trend: r.uniform(-0.2, 0.5),
    raceKm,
    racesPerYear: r.uniform(1, 8),
  };
}

// ------------------------------------------------------------------ simulation

interface PlannedRun {
  dow: number; // 0 = Monday
  session: SessionType;
}

function normalizeOptions(opts: AthleteDataOptions) {
  const athletes = Math.floor(opts.athletes);
  if (!(athletes >= 0)) throw new Error(`athletes must be >= 0, got ${opts.athletes}`);
  const start = opts.start ?? "2024-01-01";
  const startMs = Date.parse(start.length === 10 ? `${start}T00:00:00Z` : start);
  if (Number.isNaN(startMs)) throw new Error(`bad start date: ${start}`);
  const startDay = Math.floor(startMs / DAY_MS);
  const target = opts.activitiesPerAthlete;
  if (target !== undefined && !(target >= 0)) throw new Error(`activitiesPerAthlete must be >= 0`);
  const badRowFraction = opts.badRowFraction ?? 0;
  if (!(badRowFraction >= 0 && badRowFraction <= 1)) throw new Error(`badRowFraction must be in [0, 1]`);
  const drift = opts.drift;
  if (drift && !(drift.share >= 0 && drift.share <= 1 && drift.paceFactor > 0 && !Number.isNaN(Date.parse(drift.from)))) {
    throw new Error(`drift needs a date, a share in [0, 1] and a positive pace factor`);
  }
  return {
    athletes,
    days: Math.floor(opts.days ?? 730),
    startDay,
    seed: opts.seed ?? 42,
    target: target === undefined ? undefined : Math.floor(target),
    badRowFraction,
    drift: drift ? { fromDay: Math.floor(Date.parse(drift.from.length === 10 ? `${drift.from}T00:00:00Z` : drift.from) / DAY_MS), share: drift.share, paceFactor: drift.paceFactor } : undefined,
  };
}

/** Whether athlete `index` is in the drift cohort: a fixed hash of the index below `share`. */
export function inDriftCohort(index: number, share: number): boolean {
  return ((Math.imul(index + 1, 2654435761) >>> 0) % 10_000) / 10_000 < share;
}

/** The new training plan of the drift cohort: slower or faster runs, planned the same way. */
function applyDrift(row: ActivityRow, index: number, day: number, o: ReturnType<typeof normalizeOptions>): void {
  const d = o.drift;
  if (!d || day < d.fromDay || !inDriftCohort(index, d.share)) return;
  row.elapsed_time_s = Math.max(1, Math.round(row.elapsed_time_s * d.paceFactor));
  row.planned_pace_min_km = round(row.planned_pace_min_km * d.paceFactor, 2);
}

/** Weekly session plan: distinct days, a weekend long run / race, 1–2 workouts. */
function planWeek(r: Rng, nRuns: number, raceWeek: boolean): PlannedRun[] {
  if (nRuns <= 0) return [];
  const longDow = r.chance(0.7) ? 6 : 5; // Sunday or Saturday
  const days: number[] = [];
  const free = [0, 1, 2, 3, 4, 5, 6];
  const hasLong = nRuns >= 3 || raceWeek;
  if (hasLong) {
    days.push(longDow);
    free.splice(free.indexOf(longDow), 1);
  }
  while (days.length < nRuns && free.length > 0) {
    const i = Math.floor(r.next() * free.length);
    days.push(free[i]);
    free.splice(i, 1);
  }
  days.sort((a, b) => a - b);
  let workouts = nRuns >= 5 ? (r.chance(0.5) ? 2 : 1) : nRuns >= 3 ? (r.chance(0.8) ? 1 : 0) : r.chance(0.3) ? 1 : 0;
  const out: PlannedRun[] = [];
  for (const dow of days) {
    let session: SessionType;
    if (hasLong && dow === longDow) session = raceWeek ? "race" : "long";
    else if (workouts > 0 && dow !== longDow - 1 && r.chance(0.6)) {
      session = "workout";
      workouts--;
    } else session = nRuns >= 5 && r.chance(0.25) ? "recovery" : "easy";
    out.push({ dow, session });
  }
  return out;
}

function pad2(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

const dateCache: string[] = [];
function dateString(epochDay: number): string {
  if (epochDay < 0 || epochDay >= 100_000) return new Date(epochDay * DAY_MS).toISOString().slice(0, 10);
  return (dateCache[epochDay] ??= new Date(epochDay * DAY_MS).toISOString().slice(0, 10));
}

/**
 * Simulate one athlete. Yields rows in time order.
 * Rows depend only on (seed, index, start, days/target): the number of
 * athletes only affects the id width.
 */
function* simulateAthlete(
  index: number,
  o: ReturnType<typeof normalizeOptions>,
  /** When given, receives the hidden state of each row just before it is yielded. */
  truthOut?: { current: ActivityTruth | null },
): Generator<ActivityRow> {
  const p = athleteProfile(index, o.seed, o.athletes);
  const scratch: RunScratch = { tss: 0, pace: 0, currentThreshold: 0 };
  const r = new Rng(o.seed, index, STREAM_SIM);
  const bad = new Rng(o.seed, index, STREAM_BAD);
  const routes = new Rng(o.seed, index, STREAM_ROUTE);
  const home = Array.from({ length: HOME_ROUTES }, () => Math.floor(routes.next() * ROUTES));
  const id = p.athleteId;
  const endDay = o.target === undefined ? o.startDay + o.days : o.startDay + 365 * 60; // safety bound
  const limit = o.target ?? Number.POSITIVE_INFINITY;

  // Initial load: a plausible steady state for the athlete's routine; the
  // burn-in then lets CTL/ATL settle into the athlete's own rhythm.
  const hoursPerRun = (p.easyKm * 1.15 * p.thresholdPace * p.easyEffort) / 60;
  let ctl = ((p.runsPerWeek * hoursPerRun * 70) / 7) * r.uniform(0.5, 1.1);
  let atl = ctl;

  let emitted = 0;
  let seq = 0;
  let prevId = "";
  let gapWeeks = 0;
  let comebackWeeks = 0;
  let weekNo = 0;
  // Weeks start on Monday; begin the burn-in on a Monday before startDay.
  const firstDay = o.startDay - BURN_IN_DAYS;
  const firstMonday = firstDay - ((firstDay + 3) % 7 + 7) % 7; // epoch day 0 was a Thursday
  const span = Math.max(1, o.target === undefined ? o.days : Math.ceil((o.target / p.runsPerWeek) * 7 * 1.15));

  for (let weekStart = firstMonday; weekStart < endDay && emitted < limit; weekStart += 7, weekNo++) {
    const doy = ((weekStart % 365.2425) + 365.2425) % 365.2425; // day of year (epoch day 0 = Jan 1)
    const winter = Math.cos((2 * Math.PI * (doy - 15)) / 365.25); // 1 mid-Jan, -1 mid-Jul
    const season = 1 + p.seasonAmp * Math.cos((2 * Math.PI * (doy - p.seasonPeak)) / 365.25);
    const progress = clamp((weekStart - o.startDay) / span, 0, 1);
    let volume = season * (1 + p.trend * (progress - 0.5));

    let nRuns: number;
    if (gapWeeks > 0) {
      gapWeeks--;
      nRuns = 0;
      if (gapWeeks === 0) comebackWeeks = 3;
    } else if (r.chance(p.injuryRate)) {
      gapWeeks = 1 + Math.floor(-Math.log(1 - r.next()) * 2.5); // mostly 1–4 weeks, sometimes longer
      gapWeeks = Math.min(gapWeeks, 12) - 1;
      nRuns = 0;
      if (gapWeeks === 0) comebackWeeks = 3;
    } else {
      const rest = p.restCycle > 0 && weekNo % p.restCycle === p.restCycle - 1;
      if (rest) volume *= 0.7;
      if (comebackWeeks > 0) {
        volume *= 1 - 0.15 * comebackWeeks;
        comebackWeeks--;
      }
      nRuns = clamp(Math.round(p.runsPerWeek * Math.sqrt(volume) + 0.6 * r.normal()), 0, 7);
    }
    const raceWeek = nRuns >= 2 && r.chance(p.racesPerYear / 52);
    const plan = planWeek(r, nRuns, raceWeek);

    let pi = 0;
    for (let dow = 0; dow < 7; dow++) {
      const day = weekStart + dow;
      let dayTss = 0;
      const run = pi < plan.length && plan[pi].dow === dow ? plan[pi++] : undefined;
      if (run && day >= o.startDay && day < endDay && emitted < limit) {
        const row = simulateRun(p, r, run.session, day, dow, volume, winter, ctl, atl, scratch, routes.pick(home));
        dayTss = scratch.tss;
        applyDrift(row, index, day, o);
        row.activity_id = `${id}-${String(++seq).padStart(5, "0")}`;
        let badKind: BadRowKind | null = null;
        if (o.badRowFraction > 0 && bad.next() < o.badRowFraction) badKind = corrupt(row, bad, prevId);
        prevId = row.activity_id;
        emitted++;
        if (truthOut) {
          truthOut.current = {
            profile: p,
            session: run.session,
            ctl,
            atl,
            currentThreshold: scratch.currentThreshold,
            pace: scratch.pace,
            tss: scratch.tss,
            bad: badKind,
          };
        }
        yield row;
      } else if (run) {
        // Burn-in: same physiology, not emitted.
        simulateRun(p, r, run.session, day, dow, volume, winter, ctl, atl, scratch, routes.pick(home));
        dayTss = scratch.tss;
      }
      // Banister update with the day's training stress (after the day's run).
      ctl += (dayTss - ctl) / CTL_DAYS;
      atl += (dayTss - atl) / ATL_DAYS;
    }
  }
}

interface RunScratch {
  tss: number;
  pace: number;
  currentThreshold: number;
}

function simulateRun(
  p: AthleteProfile,
  r: Rng,
  session: SessionType,
  day: number,
  dow: number,
  volume: number,
  winter: number,
  ctl: number,
  atl: number,
  out: RunScratch,
  /** The home route the athlete would run outdoors (index into the shared routes). */
  route: number,
): ActivityRow {
  // --- sport
  let sport: Sport;
  const pTm = clamp(p.pTreadmill * (1 + 0.8 * winter), 0, 0.9);
  if (session === "race") sport = p.pTrail > 0.3 && r.chance(0.4) ? "trail" : "run";
  else {
    const pTrail = session === "long" || dow >= 5 ? Math.min(0.9, p.pTrail * 1.5) : p.pTrail;
    const u = r.next();
    sport = u < pTrail ? "trail" : u < pTrail + pTm && session !== "long" ? "treadmill" : "run";
  }

  // --- distance (km) and effort (pace as a multiple of the day's threshold pace)
  let km: number;
  let effort: number;
  const vol = Math.sqrt(volume);
  switch (session) {
    case "easy":
      km = p.easyKm * vol * r.logNormal(0, 0.18);
      effort = p.easyEffort + 0.03 * r.normal();
      break;
    case "recovery":
      km = 0.6 * p.easyKm * r.logNormal(0, 0.15);
      effort = p.easyEffort + 0.08 + 0.03 * r.normal();
      break;
    case "long":
      km = Math.min(36, p.easyKm * p.longRunRatio * vol * r.logNormal(0, 0.12));
      effort = p.easyEffort + 0.03 + 0.03 * r.normal();
      break;
    case "workout":
      km = p.easyKm * r.uniform(0.85, 1.2);
      effort = r.uniform(1.02, 1.14); // tempo … intervals incl. recoveries
      break;
    case "race":
      km = (r.chance(0.7) ? p.raceKm : r.pick(RACE_DISTANCES)) * r.logNormal(0.005, 0.01);
      effort = r.uniform(0.97, 1.01);
      break;
  }
  km = round(Math.max(1.5, km), 2);

  // --- elevation gain (m)
  let climbPerKm: number;
  if (sport === "trail") climbPerKm = Math.min(150, p.trailClimb * r.logNormal(0, 0.35));
  else if (sport === "treadmill") climbPerKm = r.chance(0.7) ? 0 : r.uniform(3, 15);
  else climbPerKm = p.roadClimb * r.logNormal(0, 0.5) * (session === "race" ? 0.7 : 1);
  const elevation = round(climbPerKm * km, 1);
  const climb = elevation / km;

  // --- pace (min/km): threshold × fitness/fatigue × effort × distance × climb × sport × noise
  const currentThreshold = p.thresholdPace * Math.exp(-(p.k1 * ctl - p.k2 * atl));
  const distFactor = Math.pow(km / 10, p.riegel - 1);
  const sportFactor = sport === "trail" ? p.trailFactor : sport === "treadmill" ? p.treadmillFactor : 1;
  const heat = sport === "treadmill" ? 1 : 1 + 0.015 * Math.max(0, -winter);
  const onRoute = sport !== "treadmill";
  const basePace = effort * distFactor * (1 + p.climbCost * climb) * sportFactor * heat * (onRoute ? routeFactor(route) : 1);
  const pace = currentThreshold * basePace * r.logNormal(0, p.paceNoise);
  const moving = km * pace * 60;
  const stops =
    sport !== "treadmill" && r.chance(session === "long" ? 0.5 : session === "race" ? 0.05 : 0.25)
      ? r.uniform(10, session === "long" ? 400 : 180)
      : 0;
  const elapsed = Math.max(1, Math.round(moving + stops));

  // --- training stress: hours × IF² × 100 with IF = threshold / effort pace on the flat
  const intensity = 1 / (effort * distFactor);
  const tss = (moving / 3600) * intensity * intensity * 100;

  // --- planned pace: the athlete's estimate. Knows their steady-state fitness,
  // is blind to acute fatigue, underestimates climbs, has a personal bias.
  const believedThreshold = p.thresholdPace * Math.exp(-(p.k1 - p.k2) * ctl);
  const plannedBase = effort * distFactor * (1 + 0.7 * p.climbCost * climb) * sportFactor;
  const planned = round(believedThreshold * plannedBase * r.logNormal(p.planBias, p.planNoise), 2);

  // --- heart rate
  let avgHr: number | null = null;
  const hrU = r.next();
  const hrZ = r.normal();
  if (hrU < p.hrStrapProb) {
    const frac =
      0.27 + 0.62 * intensity + 0.012 * (moving / 3600) + 0.002 * climb * (sport === "trail" ? 0.3 : 1) +
      0.01 * Math.max(0, -winter) - 0.0004 * (atl - ctl) + 0.018 * hrZ;
    avgHr = Math.round(p.maxHr * clamp(frac, 0.55, 0.97));
  }

  // --- start time (UTC, minute resolution)
  const weekend = dow >= 5;
  let hour = p.startHour + (weekend && p.startHour < 10 ? 1.5 : 0) + 0.6 * r.normal();
  if (session === "long" && hour > 14) hour = 8 + r.next() * 2;
  if (session === "race") hour = 8 + r.next() * 2;
  const minuteOfDay = clamp(Math.round(hour * 60), 4 * 60, 22 * 60 - 1);
  const startedAt = `${dateString(day)} ${pad2(Math.floor(minuteOfDay / 60))}:${pad2(minuteOfDay % 60)}:00`;

  const row: ActivityRow = {
    activity_id: "",
    athlete_id: p.athleteId,
    started_at: startedAt,
    sport,
    distance_km: km,
    elapsed_time_s: elapsed,
    elevation_gain_m: elevation,
    planned_pace_min_km: planned,
    avg_hr: avgHr,
    route_id: onRoute ? routeId(route) : "treadmill",
  };
  out.tss = tss;
  out.pace = pace;
  out.currentThreshold = currentThreshold;
  return row;
}

function corrupt(row: ActivityRow, r: Rng, prevId: string): BadRowKind {
  let kind = r.pick(BAD_ROW_KINDS);
  if (kind === "duplicate_id" && prevId === "") kind = "negative_distance";
  switch (kind) {
    case "negative_distance":
      row.distance_km = -row.distance_km;
      break;
    case "unknown_sport":
      row.sport = r.pick(["swim", "bike", "Run", "walk"]);
      break;
    case "non_numeric_time":
      row.elapsed_time_s = NaN;
      break;
    case "negative_elevation":
      row.elevation_gain_m = -round(1 + 50 * r.next(), 1);
      break;
    case "zero_planned_pace":
      row.planned_pace_min_km = 0;
      break;
    case "duplicate_id":
      row.activity_id = prevId;
      break;
  }
  return kind;
}

// ------------------------------------------------------------------ public generators

/** Stream the activities (athlete by athlete, each in time order). Constant memory. */
export function* generateActivities(opts: AthleteDataOptions): Generator<ActivityRow> {
  const o = normalizeOptions(opts);
  for (let i = 0; i < o.athletes; i++) yield* simulateAthlete(i, o);
}

/** Like generateActivities, with the hidden state behind each row (tests, analysis). */
export function* generateActivitiesWithTruth(
  opts: AthleteDataOptions,
): Generator<{ row: ActivityRow; truth: ActivityTruth }> {
  const o = normalizeOptions(opts);
  const truth: { current: ActivityTruth | null } = { current: null };
  for (let i = 0; i < o.athletes; i++) {
    for (const row of simulateAthlete(i, o, truth)) yield { row, truth: truth.current! };
  }
}

// ------------------------------------------------------------------ writers

const CSV_HEADER = ACTIVITY_COLUMNS.join(",") + "\n";
const NOT_A_NUMBER = "n/a";

function num(x: number): string {
  return Number.isFinite(x) ? String(x) : NOT_A_NUMBER;
}

/** One CSV line (with newline). Null avg_hr → empty field; non-finite numbers → `n/a`. */
export function activityToCsvLine(r: ActivityRow): string {
  return (
    `${r.activity_id},${r.athlete_id},${r.started_at},${r.sport},${num(r.distance_km)},` +
    `${num(r.elapsed_time_s)},${num(r.elevation_gain_m)},${num(r.planned_pace_min_km)},` +
    `${r.avg_hr === null ? "" : num(r.avg_hr)},${r.route_id}\n`
  );
}

const POW10 = [1, 10, 100, 1000, 10000];

/**
 * Byte-level CSV encoder into a reused buffer, flushed with synchronous file
 * writes: avoids building millions of short-lived strings (the bottleneck at
 * 10 M rows). Produces exactly the text of activityToCsvLine.
 */
class CsvFile {
  private readonly buf = Buffer.allocUnsafe(1 << 20);
  private pos = 0;
  constructor(private readonly fd: number) {}
  flush(): void {
    let off = 0;
    while (off < this.pos) off += writeSync(this.fd, this.buf, off, this.pos - off);
    this.pos = 0;
  }
  /** Short ASCII strings: a plain loop beats Buffer#write's call overhead. */
  ascii(s: string): void {
    const n = s.length;
    if (n > 64) {
      this.pos += this.buf.write(s, this.pos, "latin1");
      return;
    }
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }
  byte(b: number): void {
    this.buf[this.pos++] = b;
  }
  /** A non-negative safe integer. */
  uint(n: number): void {
    let digits = 1;
    for (let t = n; t >= 10; t = Math.floor(t / 10)) digits++;
    let p = this.pos + digits;
    this.pos = p;
    do {
      this.buf[--p] = 48 + (n % 10);
      n = Math.floor(n / 10);
    } while (n > 0);
  }
  /** Same text as String(x) for values rounded to <= `decimals` places; falls back to String otherwise. */
  number(x: number, decimals: number): void {
    if (!Number.isFinite(x)) return this.ascii(NOT_A_NUMBER);
    const f = POW10[decimals];
    const scaled = Math.round(Math.abs(x) * f);
    if (scaled > 9e15 || scaled / f !== Math.abs(x)) return this.ascii(String(x));
    if (x < 0) this.byte(45);
    const ip = Math.floor(scaled / f);
    let frac = scaled - ip * f;
    this.uint(ip);
    if (frac === 0) return;
    let d = decimals;
    while (frac % 10 === 0) {
      frac /= 10;
      d--;
    }
    this.byte(46);
    for (let k = d - 1; k >= 0; k--) this.byte(48 + (Math.floor(frac / POW10[k]) % 10));
  }
  row(r: ActivityRow): void {
    if (this.pos > this.buf.length - 4096) this.flush();
    this.ascii(r.activity_id);
    this.byte(44);
    this.ascii(r.athlete_id);
    this.byte(44);
    this.ascii(r.started_at);
    this.byte(44);
    this.ascii(r.sport);
    this.byte(44);
    this.number(r.distance_km, 2);
    this.byte(44);
    this.number(r.elapsed_time_s, 0);
    this.byte(44);
    this.number(r.elevation_gain_m, 1);
    this.byte(44);
    this.number(r.planned_pace_min_km, 2);
    this.byte(44);
    if (r.avg_hr !== null) this.number(r.avg_hr, 0);
    this.byte(44);
    this.ascii(r.route_id);
    this.byte(10);
  }
}

/** Write the activities as CSV (header + one line per row), streaming in constant memory. */
export async function writeAthleteCsv(
  opts: AthleteDataOptions & { path: string },
): Promise<{ rows: number; athletes: number }> {
  const path = resolve(opts.path);
  await mkdir(dirname(path), { recursive: true });
  const o = normalizeOptions(opts);
  const fd = openSync(path, "w");
  let rows = 0;
  try {
    const out = new CsvFile(fd);
    out.ascii(CSV_HEADER);
    for (let i = 0; i < o.athletes; i++) {
      for (const row of simulateAthlete(i, o)) {
        out.row(row);
        rows++;
      }
    }
    out.flush();
  } finally {
    closeSync(fd);
  }
  return { rows, athletes: o.athletes };
}

const SQL_COLUMNS: Record<(typeof ACTIVITY_COLUMNS)[number], string> = {
  activity_id: "VARCHAR",
  athlete_id: "VARCHAR",
  started_at: "TIMESTAMP",
  sport: "VARCHAR",
  distance_km: "DOUBLE",
  elapsed_time_s: "DOUBLE",
  elevation_gain_m: "DOUBLE",
  planned_pace_min_km: "DOUBLE",
  avg_hr: "DOUBLE",
  route_id: "VARCHAR",
};

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

/**
 * Write the activities as Parquet (zstd): the rows are streamed to a temporary
 * CSV, which DuckDB then COPYs to Parquet with the spec's types (timestamps as
 * TIMESTAMP, numbers as DOUBLE). With bad rows, values that do not parse
 * (e.g. `n/a` times) become NULL.
 */
export async function writeAthleteParquet(
  opts: AthleteDataOptions & { path: string },
): Promise<{ rows: number; athletes: number }> {
  const path = resolve(opts.path);
  await mkdir(dirname(path), { recursive: true });
  const dir = await mkdtemp(join(tmpdir(), "fti-athlete-"));
  try {
    const csv = join(dir, "activities.csv");
    const { rows, athletes } = await writeAthleteCsv({ ...opts, path: csv });
    const { DuckDBInstance } = await import("@duckdb/node-api");
    const db = await DuckDBInstance.create(":memory:");
    const conn = await db.connect();
    try {
      const lenient = (opts.badRowFraction ?? 0) > 0;
      const types = Object.entries(SQL_COLUMNS)
        .map(([c, t]) => `${sqlString(c)}: ${sqlString(lenient ? "VARCHAR" : t)}`)
        .join(", ");
      const select = lenient
        ? Object.entries(SQL_COLUMNS)
            .map(([c, t]) => (t === "VARCHAR" ? c : `TRY_CAST(${c} AS ${t}) AS ${c}`))
            .join(", ")
        : "*";
      await conn.run(`SET preserve_insertion_order = true`);
      await conn.run(
        `COPY (SELECT ${select} FROM read_csv(${sqlString(csv)}, header = true, delim = ',', quote = '"', ` +
          `auto_detect = false, columns = {${types}}, nullstr = '')) ` +
          `TO ${sqlString(path)} (FORMAT parquet, COMPRESSION zstd)`,
      );
    } finally {
      conn.closeSync();
      db.closeSync();
    }
    return { rows, athletes };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ profiles (reference data)

export const PROFILE_HEADER = "athlete_id,valid_from,birth_year,max_hr";

/**
 * Each athlete's profile as reference data, one CSV line per version: the
 * first holds from the start of the data; about half the athletes get their
 * maximum heart rate re-measured once during the period (a new row from that
 * day on). Birth year and max HR come from the hidden profile.
 */
export function profileLines(opts: { athletes: number; start?: string; days?: number; seed?: number }): string[] {
  const o = normalizeOptions({ athletes: opts.athletes, start: opts.start, days: opts.days, seed: opts.seed });
  const lines: string[] = [];
  const startYear = new Date(o.startDay * DAY_MS).getUTCFullYear();
  for (let i = 0; i < o.athletes; i++) {
    const p = athleteProfile(i, o.seed, o.athletes);
    const r = new Rng(o.seed, i, STREAM_PROFILE_ROWS);
    const birthYear = startYear - Math.floor(p.age);
    lines.push(`${p.athleteId},${dateString(o.startDay)}T00:00:00,${birthYear},${p.maxHr}`);
    if (o.days > 120 && r.chance(0.5)) {
      const day = o.startDay + r.int(60, o.days - 30);
      const retest = Math.round(clamp(p.maxHr + 3 * r.normal(), 160, 215));
      lines.push(`${p.athleteId},${dateString(day)}T00:00:00,${birthYear},${retest}`);
    }
  }
  return lines;
}

/** Writes `profileLines` as CSV (the `profiles` source of specs/athlete.fti). */
export async function writeAthleteProfilesCsv(opts: { athletes: number; start?: string; days?: number; seed?: number; path: string }): Promise<number> {
  const path = resolve(opts.path);
  await mkdir(dirname(path), { recursive: true });
  const lines = profileLines(opts);
  writeFileSync(path, [PROFILE_HEADER, ...lines].join("\n") + "\n");
  return lines.length;
}

// ------------------------------------------------------------------ CLI

/** Where specs/athlete.fti reads the source (`path "data/athlete/activities.csv"`, relative to the spec). */
export const DEFAULT_CSV = fileURLToPath(new URL("./data/athlete/activities.csv", import.meta.url));

/** `npx tsx specs/athlete.data.ts [--athletes N] [--days N] [--start DATE] [--seed N] [--activities-per-athlete N] [--bad-row-fraction F] [--out PATH]` */
export async function runCli(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      athletes: { type: "string", default: "200" },
      days: { type: "string" },
      start: { type: "string" },
      seed: { type: "string" },
      "activities-per-athlete": { type: "string" },
      "bad-row-fraction": { type: "string" },
      out: { type: "string", default: DEFAULT_CSV },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      "usage: tsx specs/athlete.data.ts [--athletes 200] [--days 730] [--start 2024-01-01] [--seed 42]\n" +
        "       [--activities-per-athlete N] [--bad-row-fraction 0] [--out specs/data/athlete/activities.csv|*.parquet]",
    );
    return;
  }
  const n = (s: string | undefined) => (s === undefined ? undefined : Number(s));
  const opts = {
    athletes: Number(values.athletes),
    days: n(values.days),
    start: values.start,
    seed: n(values.seed),
    activitiesPerAthlete: n(values["activities-per-athlete"]),
    badRowFraction: n(values["bad-row-fraction"]),
    path: values.out!,
  };
  const t0 = performance.now();
  const res = opts.path.endsWith(".parquet") ? await writeAthleteParquet(opts) : await writeAthleteCsv(opts);
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`wrote ${res.rows} activities for ${res.athletes} athletes to ${opts.path} in ${secs}s`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  runCli(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}
