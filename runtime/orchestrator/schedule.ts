// Schedules of `fti run`: a cron line (5 fields: minute hour day-of-month
// month day-of-week, UTC; croner evaluates it) or a fixed interval. The
// compiler checks cron lines with `cronProblem` at compile time.

import { Cron } from "croner";
import type { SchedulePlan } from "../api.ts";
import { formatDuration } from "../duration-text.ts";

/** Why a cron line cannot be used (null when it can): exactly 5 fields that croner accepts. */
export function cronProblem(line: string): string | null {
  const fields = line.trim().split(/\s+/).filter(Boolean);
  if (fields.length !== 5) return `a cron line has 5 fields (minute hour day-of-month month day-of-week), this one has ${fields.length}`;
  try {
    const cron = new Cron(fields.join(" "), { paused: true, timezone: "UTC" });
    // Valid fields whose days never meet (`0 0 30 2 *`, February 30): fti run would run the job once, then never.
    if (cron.nextRun(new Date(Date.UTC(2000, 0, 1))) === null) return "no date matches it, so it never fires (a day the month does not have, such as `30 2`, February 30)";
    return null;
  } catch (e) {
    return (e instanceof Error ? e.message : String(e)).replace(/^CronPattern: /, "");
  }
}

/** The first fire time strictly after `after` (null: never again). */
export function nextFire(schedule: SchedulePlan, after: Date): Date | null {
  if ("everyMs" in schedule) return new Date(after.getTime() + schedule.everyMs);
  return new Cron(schedule.cron.trim(), { paused: true, timezone: "UTC" }).nextRun(after) ?? null;
}

/** Fire times walked at most to find the latest one before now (a every-minute cron over ~70 days). */
const MAX_STEPS = 100_000;

/**
 * The slot due at `now` for a job whose last slot was `last` (null: never
 * ran): the latest fire time after `last` that is <= now — one run catches up
 * any number of missed fire times — else null. A job that never ran is due now.
 */
export function dueSlot(schedule: SchedulePlan, last: Date | null, now: Date): Date | null {
  if (last === null) return now;
  if ("everyMs" in schedule) {
    const k = Math.floor((now.getTime() - last.getTime()) / schedule.everyMs);
    return k >= 1 ? new Date(last.getTime() + k * schedule.everyMs) : null;
  }
  let slot = nextFire(schedule, last);
  if (!slot || slot.getTime() > now.getTime()) return null;
  for (let i = 0; i < MAX_STEPS; i++) {
    const next = nextFire(schedule, slot);
    if (!next || next.getTime() > now.getTime()) break;
    slot = next;
  }
  return slot;
}

export function describeSchedule(s: SchedulePlan): string {
  return "cron" in s ? `cron "${s.cron}"` : `every ${formatDuration(s.everyMs)}`;
}
