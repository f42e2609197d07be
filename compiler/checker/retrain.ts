// Continuous training in the spec: a model's `retrain { … }` block and a
// feature group's `schedule`. Cron lines are checked with the orchestrator's
// own parser (croner, via runtime/orchestrator/schedule.ts), so a line that
// compiles is a line `fti run` can schedule.

import type { Expr, RetrainDecl, ScheduleDecl } from "../ast.ts";
import type { IrModel, IrRetrain, IrSchedule, IrServe, IrView } from "../ir.ts";
import { DIAG } from "../messages.ts";
import { cronProblem } from "../../runtime/orchestrator/schedule.ts";
import type { Ctx } from "./context.ts";

/** The shortest interval `schedule every …` takes (fti run ticks about once a minute). */
const MIN_EVERY_MS = 60_000;
const DRIFT_MEASURES = ["psi", "ks"] as const;

function numberOf(e: Expr): number | undefined {
  if (e.kind === "number") return e.value;
  if (e.kind === "unary" && e.op === "-" && e.operand.kind === "number") return -e.operand.value;
  return undefined;
}

/** A schedule clause, or undefined after reporting FTI4042. */
export function checkSchedule(ctx: Ctx, s: ScheduleDecl): IrSchedule | undefined {
  if (s.cron) {
    const problem = cronProblem(s.cron.value);
    if (problem === null) return { cron: s.cron.value.trim().split(/\s+/).join(" ") };
    ctx.report(s.cron.range, DIAG.malformedSchedule.cron(problem));
    return undefined;
  }
  const every = s.every!;
  if (every.kind !== "duration") {
    ctx.report(every.range, DIAG.malformedSchedule.notDuration());
    return undefined;
  }
  if (every.ms < MIN_EVERY_MS) {
    ctx.report(every.range, DIAG.malformedSchedule.tooShort(every.text));
    return undefined;
  }
  return { everyMs: every.ms };
}

/**
 * A model's retrain block against its IR (task metrics) and serve block: live
 * triggers need the model served online (its logged predictions are what
 * labels are joined with). Returns undefined when something was reported.
 */
export function checkRetrain(
  ctx: Ctx, decl: RetrainDecl, model: IrModel, serve: IrServe | undefined, metrics: readonly string[], view?: IrView,
): IrRetrain | undefined {
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
      ctx.report(t.value.range, DIAG.typeMismatch.triggerLiteral());
      ok = false;
    } else if (t.fn.name === "drift") {
      if (!(DRIFT_MEASURES as readonly string[]).includes(t.measure.name)) {
        ctx.report(t.measure.range, DIAG.retrainRule.driftMeasure(t.measure.name));
        ok = false;
      } else if (t.op !== ">" && t.op !== ">=") {
        ctx.report(t.range, DIAG.retrainRule.driftFalling(t.measure.name, value));
        ok = false;
      } else out.drift.push({ measure: t.measure.name as "psi" | "ks", op: t.op, value });
    } else if (t.fn.name === "live") {
      if (!metrics.includes(t.measure.name)) {
        ctx.report(t.measure.range, DIAG.unknownMetric.retrain("`live` reads", t.measure.name, model.task, [...metrics]));
        ok = false;
      } else if (!serve?.online) {
        ctx.report(t.range, DIAG.liveWithoutLog.model(model.name));
        ok = false;
      } else if (view && view.spine.eventTime === null) {
        ctx.report(t.range, DIAG.untimedLive.model(model.name, view.name, view.spine.source));
        ok = false;
      } else out.live.push({ metric: t.measure.name, op: t.op, value });
    } else {
      ctx.report(t.fn.range, DIAG.retrainRule.unknownTrigger(t.fn.name));
      ok = false;
    }
  }
  if (decl.promote) {
    const { fn, metric } = decl.promote;
    if (fn.name !== "better") {
      ctx.report(fn.range, DIAG.retrainRule.promoteRule(fn.name));
      ok = false;
    } else if (!metrics.includes(metric.name)) {
      ctx.report(metric.range, DIAG.unknownMetric.retrain("`better` compares", metric.name, model.task, [...metrics]));
      ok = false;
    } else out.promoteIfBetter = metric.name;
  }
  if (!decl.schedule && !decl.triggers.length) {
    ctx.report(decl.range, DIAG.missingClause.retrainTrigger());
    ok = false;
  }
  return ok ? out : undefined;
}
