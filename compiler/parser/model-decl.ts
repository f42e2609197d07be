// The `model` declaration read from the CST: its items (view, task,
// algorithm, split, transforms, metrics, `require`, the `retrain` block) and
// the `schedule` clause a feature group shares. to-ast.ts reads the other
// declarations on top of it; the label of the declaration being read
// (`model m`) is here so both name it in a duplicate clause's FTI1001.

import type { IToken } from "chevrotain";
import type { Arg, MdtCall, ModelDecl, Range, RequireDecl, RetrainDecl, RetrainTrigger, ScheduleDecl, TransformDecl } from "../ast.ts";
import { DIAG } from "../messages.ts";
import { isReal, node, nodes, tok, toks } from "./cst-access.ts";
import { CstReader } from "./cst-reader.ts";
import type * as C from "./cst.ts";

/** Reads the `model` declaration (and `schedule`) of a declaration's chevrotain CST. */
export abstract class ModelDeclReader extends CstReader {
  /** `kind name` of the declaration being read (`model m`), for the messages that name it. */
  protected declLabel = "";

  protected duplicate(t: IToken | undefined, what: string): void {
    this.err(t, DIAG.unexpectedToken.duplicateClause(what, this.declLabel));
  }


  protected modelDecl(n: C.ModelDeclCstNode): ModelDecl {
    const kwTok = tok(n, "Kw_model");
    const name = this.ident(tok(n, "name"));
    const decl: ModelDecl = { kind: "model", name, transforms: [], metrics: [], requires: [], range: this.at() };
    for (const item of nodes(n, "modelItem")) {
      const values = toks(item, "value");
      const first = values[0];
      const viewTok = tok(item, "Kw_view");
      const taskTok = tok(item, "Kw_task");
      const algoTok = tok(item, "Kw_algorithm");
      const transformTok = tok(item, "Kw_transform");
      const splitTok = tok(item, "Kw_split");
      const metricTok = tok(item, "Kw_metric");
      const requireTok = tok(item, "Kw_require");
      const retrainTok = tok(item, "Kw_retrain");
      if (retrainTok) {
        if (decl.retrain) this.duplicate(retrainTok, "retrain");
        decl.retrain ??= this.retrain(item, retrainTok);
      } else if (viewTok) {
        if (!isReal(first)) continue;
        if (decl.view) this.duplicate(viewTok, "view");
        decl.view ??= this.ident(first);
      } else if (taskTok) {
        if (!isReal(first)) continue;
        if (decl.task) this.duplicate(taskTok, "task");
        decl.task ??= this.ident(first);
      } else if (algoTok) {
        if (!isReal(first)) continue;
        if (decl.algorithm) this.duplicate(algoTok, "algorithm");
        const algName = this.ident(first);
        const list = node(item, "argList");
        const fileTok = tok(item, "file");
        const args = list ? this.args(list) : [];
        const algorithm: NonNullable<ModelDecl["algorithm"]> = { name: algName, args, range: this.at() };
        let end: Range = algName.range;
        if (list) end = this.endRange(list, "RParen");
        if (isReal(fileTok)) {
          algorithm.file = this.stringLit(fileTok);
          end = algorithm.file.range;
        }
        algorithm.range = this.join(algoTok, end);
        decl.algorithm ??= algorithm;
      } else if (transformTok) {
        const t = this.transform(item, transformTok);
        if (t) decl.transforms.push(t);
      } else if (splitTok) {
        if (!isReal(first)) continue;
        if (decl.split) this.duplicate(splitTok, "split");
        const kind = this.ident(first);
        const list = node(item, "argList");
        const args = list ? this.args(list) : [];
        const split = { kind, args, range: this.join(splitTok, list ? this.endRange(list, "RParen") : kind.range) };
        decl.split ??= split;
      } else if (metricTok) {
        for (const v of values) if (isReal(v)) decl.metrics.push(this.ident(v));
      } else if (requireTok) {
        const r = this.require(item, requireTok);
        if (r) decl.requires.push(r);
      }
    }
    decl.range = this.join(kwTok, this.endRange(n, "RCurly"));
    return decl;
  }

  protected transform(item: C.ModelItemCstNode, kwTok: IToken): TransformDecl | undefined {
    const features = toks(item, "feature")
      .filter(isReal)
      .map((t) => this.ident(t));
    if (features.length === 0) return undefined;
    const steps: MdtCall[] = [];
    for (const c of nodes(item, "mdtCall")) {
      const nameTok = tok(c, "name");
      if (!isReal(nameTok)) continue;
      const stepName = this.ident(nameTok);
      const list = node(c, "argList");
      const args = list ? this.args(list) : [];
      steps.push({ name: stepName, args, range: this.join(stepName.range, list ? this.endRange(list, "RParen") : stepName.range) });
    }
    const last = steps.length ? steps[steps.length - 1].range : features[features.length - 1].range;
    return { features, steps, range: this.join(kwTok, last) };
  }

  protected schedule(n: C.ScheduleClauseCstNode): ScheduleDecl | undefined {
    const kwTok = tok(n, "Kw_schedule");
    const cronTok = tok(n, "cron");
    if (isReal(cronTok)) {
      const cron = this.stringLit(cronTok);
      return { cron, range: this.join(kwTok, cron.range) };
    }
    const everyTok = tok(n, "every");
    if (!isReal(everyTok)) return undefined;
    const every = this.expr(node(n, "expression"));
    if (everyTok.image !== "every") this.err(everyTok, DIAG.unexpectedToken.retrainWord("a cron line in quotes or `every` and a duration", everyTok.image, '`schedule every 6h` or `schedule "0 3 * * *"`'));
    return { every, range: this.join(kwTok, every.range) };
  }

  protected retrain(item: C.ModelItemCstNode, kwTok: IToken): RetrainDecl {
    const decl: RetrainDecl = { triggers: [], range: this.join(kwTok, this.endRange(item, "RCurly")) };
    for (const r of nodes(item, "retrainItem")) {
      const sched = node(r, "scheduleClause");
      if (sched) {
        const s = this.schedule(sched);
        if (s && decl.schedule) this.duplicate(tok(sched, "Kw_schedule"), "schedule");
        if (s) decl.schedule ??= s;
        continue;
      }
      const head = tok(r, "head");
      const fnTok = tok(r, "fn");
      const measureTok = tok(r, "measure");
      if (!isReal(head) || !isReal(fnTok) || !isReal(measureTok)) continue;
      const fn = this.ident(fnTok);
      const measure = this.ident(measureTok);
      const opTok = tok(r, "op");
      const end = this.endRange(r, "RParen");
      if (tok(r, "Kw_if")) {
        if (head.image !== "promote") this.err(head, DIAG.unexpectedToken.retrainWord("`promote if better(metric)`", `${head.image} if`, "`promote if better(mae)`"));
        else if (decl.promote) this.duplicate(head, "promote");
        decl.promote ??= { fn, metric: measure, range: this.join(head, end) };
      } else if (isReal(opTok)) {
        if (head.image !== "when") {
          this.err(head, DIAG.unexpectedToken.retrainWord("`when` before a retrain trigger", head.image, "`when drift(psi > 0.25)` or `when live(mae > 700)`"));
          continue;
        }
        const value = this.expr(node(r, "expression"));
        this.tokRange(opTok);
        decl.triggers.push({ fn, measure, op: opTok.image as RetrainTrigger["op"], value, range: this.join(head, end) });
      }
    }
    return decl;
  }

  protected require(item: C.ModelItemCstNode, kwTok: IToken): RequireDecl | undefined {
    const m = tok(item, "value");
    const opTok = tok(item, "op");
    if (!isReal(m) || !isReal(opTok)) return undefined;
    const metric = this.ident(m);
    this.tokRange(opTok);
    const value = this.expr(node(item, "expression"));
    return { metric, op: opTok.image as RequireDecl["op"], value, range: this.join(kwTok, value.range) };
  }

  protected args(list: C.ArgListCstNode): Arg[] {
    const out: Arg[] = [];
    for (const a of nodes(list, "arg")) {
      const nameTok = tok(a, "name");
      const argName = isReal(nameTok) ? this.ident(nameTok) : undefined;
      const value = this.expr(node(a, "expression"));
      const arg: Arg = { value, range: this.join(argName ? argName.range : value.range, value.range) };
      if (argName) arg.name = argName;
      out.push(arg);
    }
    return out;
  }
}
