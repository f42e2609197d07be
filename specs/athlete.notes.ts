// Coaching notes for the athlete example (specs/athlete.fti, source
// `coach_notes`): one short note per valid activity, written 30–90 minutes
// after the run ended, generated from the activity itself (pace against the
// plan, distance, climb, heart rate, sport) with seeded wording. They give the
// `notes` index something to retrieve and the `coach` agent something to cite.
//   npx tsx specs/athlete.notes.ts specs/data/athlete/activities.csv specs/data/athlete/coach_notes.csv

import fs from "node:fs";
import { pathToFileURL } from "node:url";
import { mulberry32 as rng } from "../runtime/random.ts";

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

function paceText(minPerKm: number): string {
  const m = Math.floor(minPerKm);
  const s = Math.round((minPerKm - m) * 60);
  return s === 60 ? `${m + 1}:00` : `${m}:${String(s).padStart(2, "0")}`;
}

/** The note of one activity (fields as in activities.csv), or null for a row that is not a clean run. */
export function noteFor(cols: Record<string, string>, r: () => number): { writtenAt: string; text: string } | null {
  const km = Number(cols.distance_km);
  const secs = Number(cols.elapsed_time_s);
  const planned = Number(cols.planned_pace_min_km);
  const climb = Number(cols.elevation_gain_m);
  const start = Date.parse(cols.started_at.replace(" ", "T") + "Z");
  if (!(km > 0 && secs > 0 && planned > 0 && climb >= 0) || Number.isNaN(start)) return null;
  const pace = secs / 60 / km;
  const diff = (pace - planned) / planned;
  const feel =
    diff > 0.08 ? pick(r, ["legs felt heavy", "struggled to hold the pace", "tired from the week, much slower than planned"])
    : diff > 0.02 ? pick(r, ["a bit slower than planned", "steady but sluggish", "pace drifted late"])
    : diff < -0.05 ? pick(r, ["felt strong, well under the planned pace", "fresh legs, ran faster than planned", "great day, negative split"])
    : pick(r, ["right on the planned pace", "controlled and even", "comfortable, as planned"]);
  const terrain = climb / km > 25 ? pick(r, [`hilly route, +${Math.round(climb)} m`, `lots of climbing (+${Math.round(climb)} m) slowed the pace`]) : climb / km > 10 ? `rolling route, +${Math.round(climb)} m` : "flat route";
  const hr = cols.avg_hr ? `avg HR ${Math.round(Number(cols.avg_hr))}` : "no heart-rate strap";
  const kind = km >= 18 ? "long run" : km <= 6 ? "short run" : `${cols.sport === "trail" ? "trail" : cols.sport === "treadmill" ? "treadmill" : "road"} run`;
  const text = `${km.toFixed(1)} km ${kind} at ${paceText(pace)}/km (planned ${paceText(planned)}/km): ${feel}; ${terrain}; ${hr}.`;
  const writtenAt = new Date(start + secs * 1000 + (30 + Math.floor(r() * 60)) * 60_000).toISOString().replace(".000Z", "");
  return { writtenAt, text };
}

/** Writes one note per clean activity of `activitiesCsv`; returns the number of notes. */
export function writeCoachNotes(activitiesCsv: string, notesCsv: string, seed = 7): number {
  const lines = fs.readFileSync(activitiesCsv, "utf8").split("\n");
  const header = lines[0].split(",");
  const r = rng(seed);
  const out = ["note_id,athlete_id,written_at,text"];
  for (const line of lines.slice(1)) {
    if (!line) continue;
    const values = line.split(",");
    if (values.length !== header.length) continue;
    const cols = Object.fromEntries(header.map((h, i) => [h, values[i]]));
    const note = noteFor(cols, r);
    if (note) out.push(`${cols.activity_id}-note,${cols.athlete_id},${note.writtenAt},"${note.text.replaceAll('"', '""')}"`);
  }
  fs.writeFileSync(notesCsv, out.join("\n") + "\n");
  return out.length - 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [from, to] = process.argv.slice(2);
  if (!from || !to) {
    process.stderr.write("usage: npx tsx specs/athlete.notes.ts <activities.csv> <coach_notes.csv>\n");
    process.exit(2);
  }
  process.stdout.write(`${writeCoachNotes(from, to)} notes → ${to}\n`);
}
