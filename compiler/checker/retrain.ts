// Continuous training in the spec: a model's `retrain { … }` block and a
// feature group's `schedule`. Cron lines are checked with the orchestrator's
// own parser (croner, via runtime/orchestrator/schedule.ts), so a line that
// compiles is a line `fti run` can schedule.

import type { Expr, RetrainDecl, ScheduleDecl } from "../ast.ts";
import type { IrModel, IrRetrain, IrSchedule, IrServe } from "../ir.ts";
import { closest } from "../diagnostics.ts";
import { cronProblem } from "../../runtime/orchestrator/schedule.ts";
import type { Ctx } from "./context.ts";

/** The shortest interval `schedule every …` takes (fti run ticks about once a minute). */
const MIN_EVERY_MS = 60_000;
const DRIFT_MEASURES = ["psi", "ks"] as const;
const TRIGGERS = ["drift", "live"];

function numberOf(e: Expr): number | undefined {
  if (e.kind === "number") return e.value;
  if (e.kind === "unary" && e.op === "-" && e.operand.kind === "number") return -e.operand.value;
  return undefined;
}

/** A schedule clause, or undefined after reporting FTI4022. */
export function checkSchedule(ctx: Ctx, s: ScheduleDecl): IrSchedule | undefined {
  if (s.cron) {
    const problem = cronProblem(s.cron.value);
    if (problem === null) return { cron: s.cron.value.trim().split(/\s+/).join(" ") };
    ctx.error(4022, s.cron.range, `malformed cron line: ${problem}`, { hint: 'five fields, minute hour day-of-month month day-of-week, in UTC: "0 3 * * *" is every day at 03:00' });
    return undefined;
  }
  const every = s.every!;
  if (every.kind !== "duration") {
    ctx.error(4022, every.range, "`schedule every` takes a duration literal such as `6h`");
    return undefined;
  }
  if (every.ms < MIN_EVERY_MS) {
    ctx.error(4022, every.range, `\`schedule every ${every.text}\` is shorter than a minute, the shortest interval \`fti run\` keeps`);
    return undefined;
  }
  return { everyMs: every.ms };
}

/**
 * A model's retrain block against its IR (task metrics) and serve block: live
 * triggers need the model served online (its logged predictions are what
 * labels are joined with). Returns undefined when something was reported.
 */
export function checkRetrain(ctx: Ctx, decl: RetrainDecl, model: IrModel, serve: IrServe | undefined, metrics: readonly string[]): IrRetrain | undefined {
  let ok = true;
  const out: IrRetrain = { line: decl.range.start.line, drift: [], live: [] };
  if (decl.schedule) {
    const s = checkSchedule(ctx, decl.schedule);
    if (s) out.schedule = s;
    else ok = false;
  }
  for (const t of decl.triggers) {
    const value = numberOf(t.value);
    if (value === undefined) {
      ctx.error(3002, t.value.range, "a retrain trigger compares with a number literal");
      ok = false;
    } else if (t.fn.name === "drift") {
      if (!(DRIFT_MEASURES as readonly string[]).includes(t.measure.name)) {
        const hint = closest(t.measure.name, DRIFT_MEASURES);
        ctx.error(4020, t.measure.range, `\`drift\` measures psi or ks, not \`${t.measure.name}\``, hint ? { hint: `did you mean \`${hint}\`?` } : {});
        ok = false;
      } else if (t.op !== ">" && t.op !== ">=") {
        ctx.error(4020, t.range, `drift triggers when a measure grows: write \`drift(${t.measure.name} > ${value})\``);
        ok = false;
      } else out.drift.push({ measure: t.measure.name as "psi" | "ks", op: t.op, value });
    } else if (t.fn.name === "live") {
      if (!metrics.includes(t.measure.name)) {
        const hint = closest(t.measure.name, metrics);
        ctx.error(4016, t.measure.range, `\`live\` reads a metric of ${model.task}: ${metrics.join(", ")}; \`${t.measure.name}\` is not one`, hint ? { hint: `did you mean \`${hint}\`?` } : {});
        ok = false;
      } else if (!serve?.online) {
        ctx.error(4021, t.range, `model \`${model.name}\` is not served online, so no prediction is logged and no label can ever be joined with one`, {
          hint: `add \`serve ${model.name} { online }\`, or use \`when drift(...)\` or a \`schedule\``,
        });
        ok = false;
      } else out.live.push({ metric: t.measure.name, op: t.op, value });
    } else {
      const hint = closest(t.fn.name, TRIGGERS);
      ctx.error(4020, t.fn.range, `unknown retrain trigger \`${t.fn.name}\`; use drift(psi > …) or live(<metric> > …)`, hint ? { hint: `did you mean \`${hint}\`?` } : {});
      ok = false;
    }
  }
  if (decl.promote) {
    const { fn, metric } = decl.promote;
    if (fn.name !== "better") {
      ctx.error(4020, fn.range, `\`promote if\` takes \`better(<metric>)\`, not \`${fn.name}\``);
      ok = false;
    } else if (!metrics.includes(metric.name)) {
      const hint = closest(metric.name, metrics);
      ctx.error(4016, metric.range, `\`better\` compares a metric of ${model.task}: ${metrics.join(", ")}; \`${metric.name}\` is not one`, hint ? { hint: `did you mean \`${hint}\`?` } : {});
      ok = false;
    } else out.promoteIfBetter = metric.name;
  }
  if (!decl.schedule && !decl.triggers.length) {
    ctx.error(2014, decl.range, "a `retrain` block needs a `schedule` or a `when` trigger", { hint: 'e.g. `when drift(psi > 0.25)` or `schedule "0 3 * * *"`' });
    ok = false;
  }
  return ok ? out : undefined;
}
