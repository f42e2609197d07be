// The fast path of the parser: reads a *valid* declaration straight from its
// tokens into the AST, with no chevrotain CST in between.
//
// chevrotain's CstParser (grammar.ts) and the CST → AST pass (to-ast.ts) are
// most of what a large spec costs to check. Almost every declaration of a
// spec is valid, and for those this reader gives the same AST in a fraction
// of the time; at the first token it does not expect — anything that would be
// a syntax error, a construct it does not read, a duplicate clause — it gives
// up (`undefined`), and index.ts parses the declaration with chevrotain,
// which reports the errors with its recovery. So diagnostics only ever come
// from the chevrotain path, and for every declaration this reader accepts,
// chevrotain would have accepted it too and built the same AST
// (test/parser-direct.test.ts compares the two on the specs, the fixtures
// and fuzzed inputs).
//
// It reads source, entity, fn, feature_group, on_demand, view, model (but
// not its `retrain` block) and serve; import, extern fn, index and agent
// always go the chevrotain path. The node building (ranges,
// leaves, literals, operator precedence) is ast-nodes.ts's, shared through
// AstNodes; only the walk over the tokens is this file's. Recursion depth
// is bounded by the nesting pre-scan that runs first (index.ts).

import type { IToken, TokenType } from "chevrotain";
import type {
  AgentDecl,
  Arg,
  Decl,
  EntityDecl,
  Expr,
  ExternFnDecl,
  FeatureDef,
  FeatureGroupDecl,
  FeatureRef,
  FieldDecl,
  FnDecl,
  Ident,
  ImportDecl,
  IndexDecl,
  JoinClause,
  MdtCall,
  ModelDecl,
  OdtParam,
  OnDemandDecl,
  Param,
  Range,
  RetrainDecl,
  RetrainTrigger,
  ScheduleDecl,
  ServeDecl,
  SourceDecl,
  TransformDecl,
  TypeRef,
  ViewDecl,
} from "../ast.ts";
import { tokenMatcher } from "./chevrotain.ts";
import * as T from "./lexer.ts";
import type { NumberPayload } from "./lexer.ts";
import { AstNodes, type Item, type ToAstContext } from "./ast-nodes.ts";

/** Thrown to leave the fast path; index.ts then parses the declaration with chevrotain. */
const GIVE_UP: unique symbol = Symbol("give up");

/** Sets a clause that may appear once (a second one is the chevrotain path's FTI1001). */
function setOnce<D, K extends keyof D>(decl: D, key: K, value: D[K]): void {
  if (decl[key] !== undefined) throw GIVE_UP;
  decl[key] = value;
}

class DirectReader extends AstNodes {
  private i = 0;

  constructor(
    ctx: ToAstContext,
    private readonly toks: IToken[],
  ) {
    super(ctx);
  }

  /** Any problem AstNodes would report means a declaration for the chevrotain path. */
  protected override err(): void {
    throw GIVE_UP;
  }

  // ------------------------------------------------------------ tokens

  private la(k = 0): IToken | undefined {
    return this.toks[this.i + k];
  }

  private is(type: TokenType, k = 0): boolean {
    return this.toks[this.i + k]?.tokenType === type;
  }

  private next(type: TokenType): IToken {
    const t = this.toks[this.i];
    if (t === undefined || t.tokenType !== type) throw GIVE_UP;
    this.i++;
    return t;
  }

  private optional(type: TokenType): IToken | undefined {
    const t = this.toks[this.i];
    if (t === undefined || t.tokenType !== type) return undefined;
    this.i++;
    return t;
  }

  // ------------------------------------------------------------ declarations

  read(): Decl | ImportDecl | undefined {
    const decl = this.declaration();
    return decl && this.i === this.toks.length ? decl : undefined;
  }

  private declaration(): Decl | ImportDecl | undefined {
    switch (this.la()?.tokenType) {
      case T.Fn:
        return this.fnDecl();
      case T.FeatureGroup:
        return this.featureGroupDecl();
      case T.Source:
        return this.sourceDecl();
      case T.OnDemand:
        return this.onDemandDecl();
      case T.Entity:
        return this.entityDecl();
      case T.View:
        return this.viewDecl();
      case T.Model:
        return this.modelDecl();
      case T.Serve:
        return this.serveDecl();
      case T.Extern:
        return this.externFnDecl();
      case T.Index:
        return this.indexDecl();
      case T.Agent:
        return this.agentDecl();
      case T.Import:
        return this.importDecl();
      default:
        return undefined;
    }
  }

  private fnDecl(): FnDecl {
    const kwTok = this.next(T.Fn);
    const name = this.ident(this.next(T.Identifier));
    const params = this.params();
    this.next(T.Colon);
    const returnType = this.typeRef();
    this.next(T.Equals);
    const body = this.expression();
    return { kind: "fn", name, params, returnType, body, range: this.join(kwTok, body.range) };
  }

  /** `import { a, b } from "./m.fti"`. */
  private importDecl(): ImportDecl {
    const kwTok = this.next(T.Import);
    this.next(T.LCurly);
    const names: Ident[] = [];
    do names.push(this.ident(this.next(T.Identifier)));
    while (this.optional(T.Comma));
    this.next(T.RCurly);
    this.next(T.From);
    const from = this.stringLit(this.next(T.StringLit));
    return { kind: "import", names, from, range: this.join(kwTok, from.range) };
  }

  private externFnDecl(): ExternFnDecl {
    const kwTok = this.next(T.Extern);
    this.next(T.Fn);
    const name = this.ident(this.next(T.Identifier));
    const params = this.params();
    this.next(T.Colon);
    const returnType = this.typeRef();
    this.next(T.From);
    const moduleTok = this.next(T.StringLit);
    const module = this.stringLit(moduleTok);
    return { kind: "extern_fn", name, params, returnType, module, range: this.join(kwTok, moduleTok) };
  }

  /** `index NAME on GROUP(COLUMN) [for ENTITY]` (another word than `on`: the chevrotain path). */
  private indexDecl(): IndexDecl {
    const kwTok = this.next(T.Index);
    const name = this.ident(this.next(T.Identifier));
    if (this.next(T.Identifier).image !== "on") throw GIVE_UP;
    const group = this.ident(this.next(T.Identifier));
    this.next(T.LParen);
    const column = this.ident(this.next(T.Identifier));
    const close = this.next(T.RParen);
    const decl: IndexDecl = { kind: "index", name, group, column, range: this.at() };
    const entityTok = this.optional(T.For) ? this.next(T.Identifier) : undefined;
    if (entityTok) decl.entity = this.ident(entityTok);
    decl.range = this.join(kwTok, entityTok ?? close);
    return decl;
  }

  /** `agent NAME for ENTITY { … }`; a repeated `llm` or `prompt`, `retrieve` without `top K`: the chevrotain path. */
  private agentDecl(): AgentDecl {
    const kwTok = this.next(T.Agent);
    const name = this.ident(this.next(T.Identifier));
    this.next(T.For);
    const entity = this.ident(this.next(T.Identifier));
    const decl: AgentDecl = { kind: "agent", name, entity, context: [], retrieve: [], tools: [], range: this.at() };
    this.next(T.LCurly);
    for (let t = this.la(); t !== undefined && t.tokenType !== T.RCurly; t = this.la()) {
      this.i++;
      switch (t.tokenType) {
        case T.Llm:
          setOnce(decl, "llm", this.stringLit(this.next(T.StringLit)));
          break;
        case T.Context:
          do decl.context.push(this.featureRef());
          while (this.optional(T.Comma));
          break;
        case T.Retrieve:
          decl.retrieve.push(this.retrieveItem(t));
          break;
        case T.Tool:
          do decl.tools.push(this.ident(this.next(T.Identifier)));
          while (this.optional(T.Comma));
          break;
        case T.Prompt: {
          const parts = [this.stringLit(this.next(T.StringLit))];
          while (this.is(T.StringLit)) parts.push(this.stringLit(this.next(T.StringLit)));
          setOnce(decl, "prompt", { text: parts.map((p) => p.value).join("\n"), parts, range: this.join(parts[0].range, parts[parts.length - 1].range) });
          break;
        }
        default:
          throw GIVE_UP;
      }
    }
    decl.range = this.join(kwTok, this.next(T.RCurly));
    return decl;
  }

  /** `retrieve INDEX top K` after its keyword; K a whole number. */
  private retrieveItem(kwTok: IToken): AgentDecl["retrieve"][number] {
    const index = this.ident(this.next(T.Identifier));
    if (this.next(T.Identifier).image !== "top") throw GIVE_UP;
    const kTok = this.next(T.NumberLit);
    const p = kTok.payload as NumberPayload;
    if (!p.isInt) throw GIVE_UP;
    return { index, k: { value: p.value, range: this.tokRange(kTok) }, range: this.join(kwTok, kTok) };
  }

  private onDemandDecl(): OnDemandDecl {
    const kwTok = this.next(T.OnDemand);
    const name = this.ident(this.next(T.Identifier));
    const params: OdtParam[] = [];
    this.next(T.LParen);
    if (!this.is(T.RParen)) {
      do params.push(this.odtParam());
      while (this.optional(T.Comma));
    }
    this.next(T.RParen);
    this.next(T.Colon);
    const returnType = this.typeRef();
    this.next(T.Equals);
    const body = this.expression();
    return { kind: "on_demand", name, params, returnType, body, range: this.join(kwTok, body.range) };
  }

  private odtParam(): OdtParam {
    const req = this.optional(T.Request);
    if (req) {
      const param = this.param(req);
      return { kind: "request", name: param.name, type: param.type, range: param.range };
    }
    const group = this.ident(this.next(T.Identifier));
    this.next(T.Dot);
    const feature = this.ident(this.next(T.Identifier));
    return { kind: "feature", group, feature, range: this.join(group.range, feature.range) };
  }

  private entityDecl(): EntityDecl {
    const kwTok = this.next(T.Entity);
    const name = this.ident(this.next(T.Identifier));
    const keys: Param[] = [];
    this.next(T.LCurly);
    while (this.optional(T.Key)) {
      do keys.push(this.param());
      while (this.optional(T.Comma));
    }
    const close = this.tokRange(this.next(T.RCurly));
    return { kind: "entity", name, keys, range: this.join(kwTok, close) };
  }

  private featureGroupDecl(): FeatureGroupDecl {
    const kwTok = this.next(T.FeatureGroup);
    const name = this.ident(this.next(T.Identifier));
    let version: FeatureGroupDecl["version"];
    if (this.optional(T.Version)) {
      const versionTok = this.next(T.NumberLit);
      const p = versionTok.payload as NumberPayload;
      if (!p.isInt) throw GIVE_UP; // FTI1001, reported by the chevrotain path
      version = { value: p.value, range: this.tokRange(versionTok) };
    }
    const entity = this.optional(T.For) ? this.ident(this.next(T.Identifier)) : undefined;
    const keyColumns = entity && this.is(T.LParen) ? this.columnList() : undefined;
    this.next(T.From);
    const from = this.ident(this.next(T.Identifier));
    const where = this.optional(T.Where) ? this.expression() : undefined;
    const schedule = this.is(T.Schedule) ? this.schedule() : undefined;
    this.next(T.LCurly);
    const features: FeatureDef[] = [];
    while (this.is(T.Identifier)) {
      const id = this.ident(this.next(T.Identifier));
      this.next(T.Equals);
      const expr = this.expression();
      features.push({ name: id, expr, range: this.join(id.range, expr.range) });
    }
    const close = this.tokRange(this.next(T.RCurly));
    // Same key order as to-ast.ts builds it.
    const decl: FeatureGroupDecl = { kind: "feature_group", name, from, features, range: this.join(kwTok, close) };
    if (entity) decl.entity = entity;
    if (version) decl.version = version;
    if (keyColumns) decl.keyColumns = keyColumns;
    if (where) decl.where = where;
    if (schedule) decl.schedule = schedule;
    return decl;
  }

  /** `schedule "0 3 * * *"` or `schedule every 6h`; any other word after `schedule`: the chevrotain path (its FTI1001). */
  private schedule(): ScheduleDecl {
    const kwTok = this.next(T.Schedule);
    const cronTok = this.optional(T.StringLit);
    if (cronTok) {
      const cron = this.stringLit(cronTok);
      return { cron, range: this.join(kwTok, cron.range) };
    }
    if (this.next(T.Identifier).image !== "every") throw GIVE_UP;
    const every = this.expression();
    return { every, range: this.join(kwTok, every.range) };
  }

  /**
   * A model's `retrain { … }` block, built in to-ast.ts's order (its range
   * first, then each item's keys as they come). A repeated item, or a word
   * other than `when` / `promote` at an item's head: the chevrotain path.
   */
  private retrain(kwTok: IToken): RetrainDecl {
    const decl: RetrainDecl = { triggers: [], range: this.at() };
    this.next(T.LCurly);
    while (!this.is(T.RCurly)) {
      if (this.is(T.Schedule)) {
        setOnce(decl, "schedule", this.schedule());
        continue;
      }
      const head = this.next(T.Identifier);
      if (this.optional(T.If)) {
        if (head.image !== "promote") throw GIVE_UP;
        const fn = this.ident(this.next(T.Identifier));
        this.next(T.LParen);
        const metric = this.ident(this.next(T.Identifier));
        setOnce(decl, "promote", { fn, metric, range: this.join(head, this.next(T.RParen)) });
        continue;
      }
      if (head.image !== "when") throw GIVE_UP;
      decl.triggers.push(this.trigger(head));
    }
    decl.range = this.join(kwTok, this.next(T.RCurly));
    return decl;
  }

  /** `when drift(psi > 0.25)` after its head. */
  private trigger(head: IToken): RetrainTrigger {
    const fn = this.ident(this.next(T.Identifier));
    this.next(T.LParen);
    const measure = this.ident(this.next(T.Identifier));
    const op = this.la();
    if (op?.tokenType !== T.Lt && op?.tokenType !== T.LtEq && op?.tokenType !== T.Gt && op?.tokenType !== T.GtEq) throw GIVE_UP;
    this.i++;
    const value = this.expression();
    this.tokRange(op);
    return { fn, measure, op: op.image as RetrainTrigger["op"], value, range: this.join(head, this.next(T.RParen)) };
  }

  private sourceDecl(): SourceDecl {
    const kwTok = this.next(T.Source);
    const name = this.ident(this.next(T.Identifier));
    const decl: SourceDecl = { kind: "source", name, fields: [], range: this.at() };
    this.next(T.LCurly);
    while (!this.is(T.RCurly)) this.sourceItem(decl);
    decl.range = this.join(kwTok, this.tokRange(this.next(T.RCurly)));
    return decl;
  }

  /** One item of a source body; a second `path`, `format`, … goes to the chevrotain path (its FTI1001). */
  private sourceItem(decl: SourceDecl): void {
    const t = this.la();
    switch (t?.tokenType) {
      case T.Path: {
        this.i++;
        const lit = this.stringLit(this.next(T.StringLit));
        return setOnce(decl, "location", { kind: "path", path: lit, range: this.join(t, lit.range) });
      }
      case T.Table: {
        this.i++;
        const d = this.dotted();
        return setOnce(decl, "location", { kind: "table", table: d.text, range: this.join(t, d.range) });
      }
      case T.Format:
        this.i++;
        return setOnce(decl, "format", this.ident(this.next(T.Identifier)));
      case T.EventTime:
        this.i++;
        return setOnce(decl, "eventTime", this.ident(this.next(T.Identifier)));
      case T.Unique:
        this.i++;
        return setOnce(decl, "unique", this.is(T.LParen) ? this.columnList() : [this.ident(this.next(T.Identifier))]);
      case T.Fields:
        this.i++;
        this.next(T.LCurly);
        while (this.is(T.Identifier)) decl.fields.push(this.fieldDecl());
        this.next(T.RCurly);
        return;
      case T.Identifier:
        if (t.image === "valid_from" || t.image === "valid_to") {
          this.i++;
          return setOnce(decl, t.image === "valid_from" ? "validFrom" : "validTo", this.ident(this.next(T.Identifier)));
        }
        if (t.image === "stream") {
          this.i++;
          const lateness = this.is(T.Identifier) && this.la()!.image === "lateness" ? (this.i++, this.expression()) : undefined;
          const end = lateness ? lateness.range : this.tokRange(t);
          return setOnce(decl, "stream", { range: this.join(t, end), ...(lateness ? { lateness } : {}) });
        }
        throw GIVE_UP;
      default:
        throw GIVE_UP;
    }
  }

  private fieldDecl(): FieldDecl {
    const name = this.ident(this.next(T.Identifier));
    this.next(T.Colon);
    const type = this.typeRef();
    const constraints: FieldDecl["constraints"] = [];
    const formats: FieldDecl["formats"] = [];
    const columns: FieldDecl["columns"] = [];
    let last = type.range;
    for (;;) {
      const fromTok = this.optional(T.From);
      if (fromTok) {
        const column = this.stringLit(this.next(T.StringLit));
        columns.push({ name: column, range: (last = this.join(fromTok, column.range)) });
        continue;
      }
      const formatTok = this.optional(T.Format);
      if (formatTok) {
        const pattern = this.stringLit(this.next(T.StringLit));
        formats.push({ pattern, range: (last = this.join(formatTok, pattern.range)) });
        continue;
      }
      const inTok = this.optional(T.In);
      if (inTok) {
        const { values, listRange } = this.parenList();
        constraints.push({ kind: "in", values, range: (last = this.join(inTok, listRange)) });
        continue;
      }
      const checkTok = this.optional(T.Check);
      if (!checkTok) break;
      this.next(T.LParen);
      const op = this.la();
      let expr: Expr;
      if (op && tokenMatcher(op, T.ComparisonOperator)) {
        // `check (> 0)` is `check (field > 0)`: the field takes the operator's range.
        this.i++;
        const items: Item[] = [
          { k: "atom", e: { kind: "name", name: name.name, range: this.tokRange(op) } },
          { k: "op", t: op },
        ];
        this.operandItems(items);
        this.binaryItems(items);
        expr = this.shunt(items);
      } else {
        expr = this.expression();
      }
      const close = this.next(T.RParen);
      constraints.push({ kind: "check", expr, range: (last = this.join(checkTok, close)) });
    }
    return { name, type, constraints, formats, columns, range: this.join(name.range, last) };
  }

  private viewDecl(): ViewDecl {
    const kwTok = this.next(T.View);
    const name = this.ident(this.next(T.Identifier));
    const decl: ViewDecl = { kind: "view", name, features: [], range: this.at() };
    if (this.optional(T.For)) {
      decl.entity = this.ident(this.next(T.Identifier));
      if (this.is(T.LParen)) decl.entityColumns = this.columnList();
    }
    if (this.optional(T.From)) {
      decl.from = this.ident(this.next(T.Identifier));
      if (this.optional(T.Where)) decl.where = this.expression();
    }
    this.next(T.LCurly);
    for (let t = this.la(); t !== undefined && t.tokenType !== T.RCurly; t = this.la()) {
      this.i++;
      if (t.tokenType === T.Label) {
        const lname = this.ident(this.next(T.Identifier));
        this.next(T.Equals);
        const expr = this.expression();
        setOnce(decl, "label", { name: lname, expr, range: this.join(t, expr.range) });
      } else if (t.tokenType === T.Features) {
        const refs: FeatureRef[] = [];
        do refs.push(this.featureRef());
        while (this.optional(T.Comma));
        const clause = this.joinClause();
        for (const ref of refs) decl.features.push({ ...ref, ...clause });
      } else if (t.tokenType === T.Ttl) {
        setOnce(decl, "ttl", this.expression());
      } else if (t.tokenType === T.AsOf) {
        setOnce(decl, "asOf", this.ident(this.next(T.Identifier)));
      } else {
        throw GIVE_UP;
      }
    }
    decl.range = this.join(kwTok, this.tokRange(this.next(T.RCurly)));
    return decl;
  }

  /** `group.*`, `group.feature` or an on-demand transform's name. */
  private featureRef(): FeatureRef {
    const group = this.ident(this.next(T.Identifier));
    if (!this.optional(T.Dot)) return { kind: "name", name: group, range: group.range };
    const star = this.optional(T.Star);
    if (star) return { kind: "group_all", group, range: this.join(group.range, star) };
    const feature = this.ident(this.next(T.Identifier));
    return { kind: "group_feature", group, feature, range: this.join(group.range, feature.range) };
  }

  /** `by col` / `by (a, b)` and `as prefix` after a `features` list. */
  private joinClause(): JoinClause {
    const clause: JoinClause = {};
    const byTok = this.optional(T.By);
    if (byTok) {
      if (this.is(T.LParen)) {
        const columns = this.columnList();
        clause.by = { columns, range: this.join(byTok, this.tokRange(this.toks[this.i - 1])) };
      } else {
        const col = this.ident(this.next(T.Identifier));
        clause.by = { columns: [col], range: this.join(byTok, col.range) };
      }
    }
    if (this.optional(T.As)) clause.prefix = this.ident(this.next(T.Identifier));
    return clause;
  }

  private modelDecl(): ModelDecl {
    const kwTok = this.next(T.Model);
    const name = this.ident(this.next(T.Identifier));
    const decl: ModelDecl = { kind: "model", name, transforms: [], metrics: [], requires: [], range: this.at() };
    this.next(T.LCurly);
    for (let t = this.la(); t !== undefined && t.tokenType !== T.RCurly; t = this.la()) {
      this.i++;
      switch (t.tokenType) {
        case T.View:
          setOnce(decl, "view", this.ident(this.next(T.Identifier)));
          break;
        case T.Task:
          setOnce(decl, "task", this.ident(this.next(T.Identifier)));
          break;
        case T.Algorithm:
          setOnce(decl, "algorithm", this.algorithm(t));
          break;
        case T.Transform:
          decl.transforms.push(this.transform(t));
          break;
        case T.Split: {
          const kind = this.ident(this.next(T.Identifier));
          const list = this.is(T.LParen) ? this.argList() : undefined;
          setOnce(decl, "split", { kind, args: list?.args ?? [], range: this.join(t, list ? list.close : kind.range) });
          break;
        }
        case T.Metric:
          do decl.metrics.push(this.ident(this.next(T.Identifier)));
          while (this.optional(T.Comma));
          break;
        case T.Require: {
          const metric = this.ident(this.next(T.Identifier));
          const op = this.la();
          if (op?.tokenType !== T.Lt && op?.tokenType !== T.LtEq && op?.tokenType !== T.Gt && op?.tokenType !== T.GtEq) throw GIVE_UP;
          this.i++;
          this.tokRange(op);
          const value = this.expression();
          decl.requires.push({ metric, op: op.image as "<" | "<=" | ">" | ">=", value, range: this.join(t, value.range) });
          break;
        }
        case T.Retrain:
          setOnce(decl, "retrain", this.retrain(t));
          break;
        default:
          throw GIVE_UP; // anything else: the chevrotain path
      }
    }
    decl.range = this.join(kwTok, this.tokRange(this.next(T.RCurly)));
    return decl;
  }

  /** `algorithm gbdt(trees: 50)` or `algorithm onnx "model.onnx"`. */
  private algorithm(kwTok: IToken): NonNullable<ModelDecl["algorithm"]> {
    const algName = this.ident(this.next(T.Identifier));
    const list = this.is(T.LParen) ? this.argList() : undefined;
    const algorithm: NonNullable<ModelDecl["algorithm"]> = { name: algName, args: list?.args ?? [], range: this.at() };
    let end: Range = list ? list.close : algName.range;
    const fileTok = list ? undefined : this.optional(T.StringLit);
    if (fileTok) {
      algorithm.file = this.stringLit(fileTok);
      end = algorithm.file.range;
    }
    algorithm.range = this.join(kwTok, end);
    return algorithm;
  }

  /** `transform a, b: impute(median), standard_scale`. */
  private transform(kwTok: IToken): TransformDecl {
    const features: Ident[] = [];
    do features.push(this.ident(this.next(T.Identifier)));
    while (this.optional(T.Comma));
    this.next(T.Colon);
    const steps: MdtCall[] = [];
    do {
      const stepName = this.ident(this.next(T.Identifier));
      const list = this.is(T.LParen) ? this.argList() : undefined;
      steps.push({ name: stepName, args: list?.args ?? [], range: this.join(stepName.range, list ? list.close : stepName.range) });
    } while (this.optional(T.Comma));
    return { features, steps, range: this.join(kwTok, steps[steps.length - 1].range) };
  }

  /** `(name: expr, expr, ...)`: the arguments and the range of the closing parenthesis. */
  private argList(): { args: Arg[]; close: Range } {
    this.next(T.LParen);
    const args: Arg[] = [];
    if (!this.is(T.RParen)) {
      do {
        const argName = this.is(T.Identifier) && this.is(T.Colon, 1) ? this.ident(this.toks[this.i++]) : undefined;
        if (argName) this.i++; // the colon
        const value = this.expression();
        const arg: Arg = { value, range: this.join(argName ? argName.range : value.range, value.range) };
        if (argName) arg.name = argName;
        args.push(arg);
      } while (this.optional(T.Comma));
    }
    return { args, close: this.tokRange(this.next(T.RParen)) };
  }

  private serveDecl(): ServeDecl {
    const kwTok = this.next(T.Serve);
    const model = this.ident(this.next(T.Identifier));
    const decl: ServeDecl = { kind: "serve", model, range: this.at() };
    this.next(T.LCurly);
    for (let t = this.la(); t !== undefined && t.tokenType !== T.RCurly; t = this.la()) {
      this.i++;
      if (t.tokenType === T.Online) {
        setOnce(decl, "online", this.tokRange(t));
      } else if (t.tokenType === T.Batch) {
        this.next(T.Into);
        const d = this.dotted();
        setOnce(decl, "batch", { table: d.text, range: this.join(t, d.range) });
      } else {
        throw GIVE_UP;
      }
    }
    decl.range = this.join(kwTok, this.tokRange(this.next(T.RCurly)));
    return decl;
  }

  // ------------------------------------------------------------ pieces

  private typeRef(): TypeRef {
    const name = this.next(T.Identifier);
    let dim: IToken | undefined;
    let close: IToken | undefined;
    if (this.optional(T.LBracket)) {
      dim = this.next(T.NumberLit);
      close = this.next(T.RBracket);
    }
    return this.typeRefOf(name, dim, close, this.optional(T.Question));
  }

  private param(startTok?: IToken): Param {
    const name = this.ident(this.next(T.Identifier));
    this.next(T.Colon);
    const type = this.typeRef();
    return { name, type, range: this.join(startTok ?? name.range, type.range) };
  }

  private params(): Param[] {
    const out: Param[] = [];
    this.next(T.LParen);
    if (!this.is(T.RParen)) {
      do out.push(this.param());
      while (this.optional(T.Comma));
    }
    this.next(T.RParen);
    return out;
  }

  private columnList(): Ident[] {
    const out: Ident[] = [];
    this.next(T.LParen);
    do out.push(this.ident(this.next(T.Identifier)));
    while (this.optional(T.Comma));
    this.next(T.RParen);
    return out;
  }

  private dotted(): { text: string; range: Range } {
    const first = this.next(T.Identifier);
    let last = first;
    let text = first.image;
    while (this.optional(T.Dot)) {
      last = this.next(T.Identifier);
      text += "." + last.image;
    }
    return { text, range: this.join(first, last) };
  }

  // ------------------------------------------------------------ expressions

  private expression(): Expr {
    const ifTok = this.optional(T.If);
    if (!ifTok) {
      const items: Item[] = [];
      this.operandItems(items);
      this.binaryItems(items);
      return this.shunt(items);
    }
    const cond = this.expression();
    this.next(T.Then);
    const then = this.expression();
    this.next(T.Else);
    const els = this.expression();
    return { kind: "if", cond, then, else: els, range: this.join(ifTok, els.range) };
  }

  /** `(op operand | in (values))*` after a first operand, appended to `items`. */
  private binaryItems(items: Item[]): void {
    for (;;) {
      const t = this.la();
      if (t === undefined) return;
      if (t.tokenType === T.In) {
        this.i++;
        items.push({ k: "in", t, list: this.parenList() });
      } else if (tokenMatcher(t, T.BinaryOperator)) {
        this.i++;
        items.push({ k: "op", t });
        this.operandItems(items);
      } else {
        return;
      }
    }
  }

  /** Prefix `-` / `not`, then a primary. */
  private operandItems(items: Item[]): void {
    for (let t = this.la(); t !== undefined && (t.tokenType === T.Minus || t.tokenType === T.Not); t = this.la()) {
      this.i++;
      items.push({ k: "pre", t });
    }
    items.push({ k: "atom", e: this.primary() });
  }

  /** The values after `in`: AstNodes.shunt asks for them in this form. */
  protected override inList(list: unknown): { values: Expr[]; listRange: Range } {
    return list as { values: Expr[]; listRange: Range };
  }

  private primary(): Expr {
    const t = this.la();
    if (t === undefined) throw GIVE_UP;
    if (t.tokenType === T.InvalidLiteral) throw GIVE_UP; // FTI1006 (already reported by the lexer)
    if (tokenMatcher(t, T.Literal)) {
      this.i++;
      return this.literal(t);
    }
    switch (t.tokenType) {
      case T.Identifier:
        // `name =` never continues an expression (grammar.ts: it starts the next feature).
        if (this.is(T.Equals, 1)) throw GIVE_UP;
        return this.nameExpr();
      case T.LParen: {
        this.i++;
        const openRange = this.tokRange(t);
        const inner = this.expression();
        const close = this.next(T.RParen);
        // A parenthesized expression keeps its node but widens its range to the parens.
        return { ...inner, range: this.join(openRange, close) };
      }
      case T.LBracket: {
        this.i++;
        const items: Expr[] = [];
        if (!this.is(T.RBracket)) {
          do items.push(this.expression());
          while (this.optional(T.Comma));
        }
        const close = this.tokRange(this.next(T.RBracket));
        return { kind: "list", items, range: this.join(t, close) };
      }
      default:
        throw GIVE_UP;
    }
  }

  /** `x`, `a.b`, `f(args)`, `agg(args) over window` */
  private nameExpr(): Expr {
    const id = this.ident(this.next(T.Identifier));
    if (this.optional(T.Dot)) {
      const property = this.ident(this.next(T.Identifier));
      return { kind: "member", object: id, property, range: this.join(id.range, property.range) };
    }
    if (!this.is(T.LParen)) return { kind: "name", name: id.name, range: id.range };
    const { values: args, listRange } = this.parenList();
    if (!this.optional(T.Over)) return { kind: "call", callee: id, args, range: this.join(id.range, listRange) };
    // `over next 7d`: a forward window; `next` is a keyword only here.
    const next = this.la();
    const forward = next?.tokenType === T.Identifier && next.image === "next" && !this.is(T.RParen, 1);
    if (forward) this.i++;
    const over = this.primary();
    const w: Expr = { kind: "window", agg: id, args, over, range: this.join(id.range, over.range) };
    if (forward) w.forward = true;
    return w;
  }

  /** `(expr, expr, ...)`: call arguments and `in` values. */
  private parenList(): { values: Expr[]; listRange: Range } {
    this.next(T.LParen);
    const values: Expr[] = [];
    if (!this.is(T.RParen)) {
      do values.push(this.expression());
      while (this.optional(T.Comma));
    }
    return { values, listRange: this.tokRange(this.next(T.RParen)) };
  }
}

/**
 * The AST of one valid declaration read straight from its tokens, or
 * undefined: a declaration this fast path does not read, or one with any
 * syntax problem (the caller then parses it with chevrotain).
 */
export function readDirect(tokens: IToken[], ctx: ToAstContext): Decl | ImportDecl | undefined {
  try {
    return new DirectReader(ctx, tokens).read();
  } catch (e) {
    if (e === GIVE_UP) return undefined;
    throw e;
  }
}
