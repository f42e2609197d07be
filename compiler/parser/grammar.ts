// The .fti grammar as a chevrotain CstParser (error recovery on).
//
// index.ts splits the token stream into one chunk per top-level declaration
// and calls `declaration()` once per chunk, so a syntax error never spills
// into the next declaration. Expressions are parsed flat here (operands and
// operators in source order) and precedence is applied in ast-nodes.ts by an
// iterative shunting-yard: that keeps the recursion depth per nesting level
// small and makes long operator chains, `- - - x` and `a ^ b ^ ...`
// stack-safe.
//
// Error messages: the errorMessageProvider below only returns a phrase for
// what was expected ("`}`", "a name", "an expression"); index.ts combines it
// with what was found and the enclosing declaration into the final message.

import type { CstNode, IOrAlt, IParserErrorMessageProvider, OrMethodOpts, IToken, TokenType } from "chevrotain";
import { CstParser, EOF, NoViableAltException } from "./chevrotain.ts";
import * as T from "./lexer.ts";

/** Maximum nesting of `(`, `[` and `if` (checked by a token pre-scan in index.ts, before parsing). */
export const MAX_NESTING = 128;

/** How a token type is named in messages: "`}`", "a name", "`source`". */
export function describeTokenType(t: TokenType): string {
  if (t === EOF) return "end of file";
  return t.LABEL ?? t.name;
}

function joinAlternatives(items: string[]): string {
  const uniq = [...new Set(items)];
  if (uniq.length <= 1) return uniq[0] ?? "something else";
  const shown = uniq.slice(0, 8);
  const more = uniq.length > shown.length ? ", …" : "";
  return shown.slice(0, -1).join(", ") + (more ? "" : " or ") + (more ? shown.at(-1) + more : shown.at(-1));
}

function firstTokens(paths: TokenType[][]): string[] {
  return paths.filter((p) => p.length > 0).map((p) => describeTokenType(p[0]));
}

/** Returns just the "expected ..." phrase; index.ts builds the sentence. */
const messageProvider: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: ({ expected }) => describeTokenType(expected),
  buildNotAllInputParsedMessage: () => "a declaration",
  buildNoViableAltMessage: ({ expectedPathsPerAlt, customUserDescription }) =>
    customUserDescription ?? joinAlternatives(expectedPathsPerAlt.flatMap(firstTokens)),
  buildEarlyExitMessage: ({ expectedIterationPaths, customUserDescription }) =>
    customUserDescription ?? joinAlternatives(firstTokens(expectedIterationPaths)),
};

/** Thrown out of the parser when one declaration has produced too many errors. */
export class TooManyErrors extends Error {
  constructor(readonly partial: CstNode | undefined) {
    super("too many syntax errors in one declaration");
  }
}

const MAX_ERRORS_PER_DECLARATION = 20;

/** `valid_from` / `valid_to` / `stream`: source items spelled as names (a field may be called so too). */
const NAMED_CLAUSES = new Set(["valid_from", "valid_to", "stream"]);

const baseSaveError = (CstParser.prototype as unknown as { SAVE_ERROR?: (e: unknown) => unknown }).SAVE_ERROR;
const baseRaiseNoAlt = (CstParser.prototype as unknown as { raiseNoAltException?: (occurrence: number, msg?: string) => never })
  .raiseNoAltException;

export class FtiParser extends CstParser {
  /**
   * OR alternatives, built on a rule's first run and reused: saves allocating
   * closures on every rule invocation (they only ever refer to `this`).
   */
  private readonly alts: Record<string, OrMethodOpts<unknown> | IOrAlt<unknown>[]> = {};

  constructor() {
    super(T.allTokenTypes, {
      recoveryEnabled: true,
      maxLookahead: 3,
      nodeLocationTracking: "none",
      errorMessageProvider: messageProvider,
    });
    this.performSelfAnalysis();
  }

  /**
   * Gives up on a declaration after MAX_ERRORS_PER_DECLARATION errors: bounds the
   * recovery work (and chevrotain's recursive in-repetition re-sync) on garbage.
   * Hooks chevrotain's internal SAVE_ERROR; if a future version renames it, this
   * is simply never called.
   */
  SAVE_ERROR(error: unknown): unknown {
    const saved = baseSaveError ? baseSaveError.call(this, error) : error;
    if (this.errors.length >= MAX_ERRORS_PER_DECLARATION) {
      const stack = (this as unknown as { CST_STACK?: CstNode[] }).CST_STACK ?? [];
      throw new TooManyErrors(stack[1] ?? stack[0]);
    }
    return saved;
  }

  /**
   * Every OR that can fail has an ERR_MSG, which is all the message provider
   * uses; skip chevrotain's computation of the expected token paths (a grammar
   * walk per error) in that case. Hooks chevrotain's internal raiseNoAltException.
   */
  raiseNoAltException(occurrence: number, errMsgTypes?: string): never {
    if (errMsgTypes === undefined && baseRaiseNoAlt) return baseRaiseNoAlt.call(this, occurrence, errMsgTypes);
    throw this.SAVE_ERROR(new NoViableAltException(errMsgTypes ?? "something else", this.LA(1), this.LA(0)));
  }

  // ------------------------------------------------------------ declarations

  declaration = this.RULE("declaration", () => {
    this.OR((this.alts["declaration.OR"] ??= {
      DEF: [
        { ALT: () => this.SUBRULE(this.sourceDecl) },
        { ALT: () => this.SUBRULE(this.entityDecl) },
        { ALT: () => this.SUBRULE(this.fnDecl) },
        { ALT: () => this.SUBRULE(this.externFnDecl) },
        { ALT: () => this.SUBRULE(this.featureGroupDecl) },
        { ALT: () => this.SUBRULE(this.onDemandDecl) },
        { ALT: () => this.SUBRULE(this.viewDecl) },
        { ALT: () => this.SUBRULE(this.modelDecl) },
        { ALT: () => this.SUBRULE(this.serveDecl) },
        { ALT: () => this.SUBRULE(this.indexDecl) },
        { ALT: () => this.SUBRULE(this.agentDecl) },
        { ALT: () => this.SUBRULE(this.importDecl) },
      ],
      ERR_MSG: "a declaration",
    }));
  });

  // import { a, b } from "./common.fti"
  importDecl = this.RULE("importDecl", () => {
    this.CONSUME(T.Import);
    this.CONSUME(T.LCurly);
    this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.CONSUME(T.Identifier, { LABEL: "names" }) });
    this.CONSUME(T.RCurly);
    this.CONSUME(T.From);
    this.CONSUME(T.StringLit, { LABEL: "module" });
  });

  // source NAME { path "..." | table a.b | format x | event_time c | unique c | unique (a, b) | valid_from c | valid_to c | stream [lateness d] | fields { ... } }
  sourceDecl = this.RULE("sourceDecl", () => {
    this.CONSUME(T.Source);
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.CONSUME(T.LCurly);
    this.MANY(() => this.SUBRULE(this.sourceItem));
    this.CONSUME(T.RCurly);
  });

  sourceItem = this.RULE("sourceItem", () => {
    this.OR((this.alts["sourceItem.OR"] ??= {
      DEF: [
        {
          ALT: () => {
            this.CONSUME(T.Path);
            this.CONSUME(T.StringLit);
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Table);
            this.SUBRULE(this.dottedName);
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Format);
            this.CONSUME1(T.Identifier);
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.EventTime);
            this.CONSUME2(T.Identifier);
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Unique);
            // `unique id` or `unique (symbol, date)`: one field or a combination of fields
            this.OR3((this.alts["sourceItem.unique"] ??= {
              DEF: [{ ALT: () => this.CONSUME3(T.Identifier) }, { ALT: () => this.SUBRULE(this.columnList, { LABEL: "uniqueList" }) }],
              ERR_MSG: "a field name or `(a, b)`",
            }));
          },
        },
        {
          // `valid_from c`, `valid_to c`, `stream [lateness d]`: names, not keywords, so fields may be called so.
          GATE: () => NAMED_CLAUSES.has(this.LA(1).image),
          ALT: () => {
            this.CONSUME4(T.Identifier, { LABEL: "clause" });
            this.OR2((this.alts["sourceItem.clause"] ??= {
              IGNORE_AMBIGUITIES: true,
              DEF: [
                { GATE: () => this.LA(0).image !== "stream", ALT: () => this.CONSUME5(T.Identifier, { LABEL: "clauseValue" }) },
                {
                  GATE: () => this.LA(0).image === "stream",
                  ALT: () =>
                    this.OPTION({
                      GATE: () => this.LA(1).image === "lateness",
                      DEF: () => {
                        this.CONSUME6(T.Identifier, { LABEL: "latenessClause" });
                        this.SUBRULE(this.expression, { LABEL: "lateness" });
                      },
                    }),
                },
              ],
              ERR_MSG: "a name",
            }));
          },
        },
        { ALT: () => this.SUBRULE(this.fieldsBlock) },
      ],
      ERR_MSG: "a source item (path, table, format, event_time, unique, valid_from, valid_to, stream or fields)",
    }));
  });

  fieldsBlock = this.RULE("fieldsBlock", () => {
    this.CONSUME(T.Fields);
    this.CONSUME(T.LCurly);
    this.MANY(() => this.SUBRULE(this.fieldDecl));
    this.CONSUME(T.RCurly);
  });

  // name: type [in (...)] [check (...)] [format "..."] [from "Column"]
  fieldDecl = this.RULE("fieldDecl", () => {
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.CONSUME(T.Colon);
    this.SUBRULE(this.typeRef);
    this.MANY(() => this.SUBRULE(this.fieldConstraint));
  });

  fieldConstraint = this.RULE("fieldConstraint", () => {
    this.OR((this.alts["fieldConstraint.OR"] ??= {
      DEF: [
        {
          ALT: () => {
            this.CONSUME(T.In);
            this.SUBRULE(this.parenList);
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Check);
            this.CONSUME(T.LParen);
            this.SUBRULE(this.checkBody);
            this.CONSUME(T.RParen);
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Format);
            this.CONSUME(T.StringLit, { LABEL: "pattern" });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.From);
            this.CONSUME2(T.StringLit, { LABEL: "column" });
          },
        },
      ],
      ERR_MSG: "`in`, `check`, `format` or `from`",
    }));
  });

  // `> 0` (shorthand, the field is the left operand) or a full expression
  checkBody = this.RULE("checkBody", () => {
    this.OR((this.alts["checkBody.OR"] ??= {
      DEF: [
        {
          ALT: () => {
            this.CONSUME(T.ComparisonOperator, { LABEL: "op" });
            this.SUBRULE(this.binaryExpr);
          },
        },
        { ALT: () => this.SUBRULE(this.expression) },
      ],
      ERR_MSG: "a condition (like `> 0`)",
    }));
  });

  // float, float?, float[256] (a vector), float[256]?
  typeRef = this.RULE("typeRef", () => {
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.OPTION1(() => {
      this.CONSUME(T.LBracket);
      this.CONSUME(T.NumberLit, { LABEL: "dim" });
      this.CONSUME(T.RBracket);
    });
    this.OPTION2(() => this.CONSUME(T.Question));
  });

  dottedName = this.RULE("dottedName", () => {
    this.CONSUME(T.Identifier, { LABEL: "part" });
    this.MANY(() => {
      this.CONSUME(T.Dot);
      this.CONSUME2(T.Identifier, { LABEL: "part" });
    });
  });

  // entity NAME { key a: t, b: t }
  entityDecl = this.RULE("entityDecl", () => {
    this.CONSUME(T.Entity);
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.CONSUME(T.LCurly);
    this.MANY(() => this.SUBRULE(this.keyClause));
    this.CONSUME(T.RCurly);
  });

  keyClause = this.RULE("keyClause", () => {
    this.CONSUME(T.Key);
    this.SUBRULE(this.param);
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.SUBRULE2(this.param);
    });
  });

  param = this.RULE("param", () => {
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.CONSUME(T.Colon);
    this.SUBRULE(this.typeRef);
  });

  params = this.RULE("params", () => {
    this.CONSUME(T.LParen);
    this.OPTION(() => {
      this.SUBRULE(this.param);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.param);
      });
    });
    this.CONSUME(T.RParen);
  });

  // fn NAME(params): T = expr
  fnDecl = this.RULE("fnDecl", () => {
    this.CONSUME(T.Fn);
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.SUBRULE(this.params);
    this.CONSUME(T.Colon);
    this.SUBRULE(this.typeRef);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expression);
  });

  // extern fn NAME(params): T from "./module.ts"
  externFnDecl = this.RULE("externFnDecl", () => {
    this.CONSUME(T.Extern);
    this.CONSUME(T.Fn);
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.SUBRULE(this.params);
    this.CONSUME(T.Colon);
    this.SUBRULE(this.typeRef);
    this.CONSUME(T.From);
    this.CONSUME(T.StringLit);
  });

  // feature_group NAME [version N] [for ENTITY] from SOURCE { name = expr ... }
  featureGroupDecl = this.RULE("featureGroupDecl", () => {
    this.CONSUME(T.FeatureGroup);
    this.CONSUME1(T.Identifier, { LABEL: "name" });
    this.OPTION(() => {
      this.CONSUME(T.Version);
      this.CONSUME(T.NumberLit, { LABEL: "version" });
    });
    // Without `for`: a global group (one series, no keys).
    this.OPTION5(() => {
      this.CONSUME(T.For);
      this.CONSUME2(T.Identifier, { LABEL: "entity" });
      // `for account(sender)`: the input columns that carry the entity's key
      this.OPTION2(() => this.SUBRULE(this.columnList, { LABEL: "keyColumns" }));
    });
    this.CONSUME(T.From);
    this.CONSUME3(T.Identifier, { LABEL: "from" });
    this.OPTION3(() => {
      this.CONSUME(T.Where);
      this.SUBRULE(this.expression, { LABEL: "where" });
    });
    this.OPTION4(() => this.SUBRULE(this.scheduleClause));
    this.CONSUME(T.LCurly);
    this.MANY(() => this.SUBRULE(this.featureDef));
    this.CONSUME(T.RCurly);
  });

  featureDef = this.RULE("featureDef", () => {
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expression);
  });

  // on_demand NAME(request x: T, group.feature): T = expr
  onDemandDecl = this.RULE("onDemandDecl", () => {
    this.CONSUME(T.OnDemand);
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.CONSUME(T.LParen);
    this.OPTION(() => {
      this.SUBRULE(this.odtParam);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.odtParam);
      });
    });
    this.CONSUME(T.RParen);
    this.CONSUME(T.Colon);
    this.SUBRULE(this.typeRef);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expression);
  });

  odtParam = this.RULE("odtParam", () => {
    this.OR((this.alts["odtParam.OR"] ??= {
      DEF: [
        {
          ALT: () => {
            this.CONSUME(T.Request);
            this.SUBRULE(this.param);
          },
        },
        {
          ALT: () => {
            this.CONSUME1(T.Identifier, { LABEL: "group" });
            this.CONSUME(T.Dot);
            this.CONSUME2(T.Identifier, { LABEL: "feature" });
          },
        },
      ],
      ERR_MSG: "a parameter (`request name: type` or `group.feature`)",
    }));
  });

  /** `(a, b)`: column names (a group's key columns, a `by`, a source's `unique`). */
  columnList = this.RULE("columnList", () => {
    this.CONSUME(T.LParen);
    this.CONSUME1(T.Identifier, { LABEL: "columns" });
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.CONSUME2(T.Identifier, { LABEL: "columns" });
    });
    this.CONSUME(T.RParen);
  });

  // view NAME [for ENTITY[(COL, ...)]] [from SOURCE [where EXPR]] { label ... features ... ttl ... as_of ... }
  viewDecl = this.RULE("viewDecl", () => {
    this.CONSUME(T.View);
    this.CONSUME1(T.Identifier, { LABEL: "name" });
    this.OPTION(() => {
      this.CONSUME(T.For);
      this.CONSUME2(T.Identifier, { LABEL: "entity" });
      // `for account(sender)`: the spine columns holding the entity's keys
      this.OPTION4(() => this.SUBRULE(this.columnList, { LABEL: "entityColumns" }));
    });
    this.OPTION2(() => {
      this.CONSUME(T.From);
      this.CONSUME3(T.Identifier, { LABEL: "from" });
      this.OPTION3(() => {
        this.CONSUME(T.Where);
        this.SUBRULE(this.expression, { LABEL: "where" });
      });
    });
    this.CONSUME(T.LCurly);
    this.MANY(() => this.SUBRULE(this.viewItem));
    this.CONSUME(T.RCurly);
  });

  viewItem = this.RULE("viewItem", () => {
    this.OR((this.alts["viewItem.OR"] ??= {
      DEF: [
        {
          ALT: () => {
            this.CONSUME(T.Label);
            this.CONSUME1(T.Identifier, { LABEL: "name" });
            this.CONSUME(T.Equals);
            this.SUBRULE2(this.expression, { LABEL: "label" });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Features);
            this.SUBRULE(this.featureRef);
            this.MANY(() => {
              this.CONSUME(T.Comma);
              this.SUBRULE2(this.featureRef);
            });
            // `by sender`, `by (a, b)`: the spine columns that carry the groups' keys
            this.OPTION(() => {
              this.CONSUME(T.By);
              this.OR1((this.alts["viewItem.by.OR"] ??= {
                DEF: [
                  { ALT: () => this.CONSUME5(T.Identifier, { LABEL: "by" }) },
                  { ALT: () => this.SUBRULE(this.columnList, { LABEL: "byList" }) },
                ],
                ERR_MSG: "a column name or `(a, b)`",
              }));
            });
            // `as receiver_`: a prefix for the features' names
            this.OPTION2(() => {
              this.CONSUME(T.As);
              this.CONSUME6(T.Identifier, { LABEL: "prefix" });
            });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Ttl);
            this.SUBRULE(this.expression);
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.AsOf);
            this.CONSUME4(T.Identifier, { LABEL: "asOf" });
          },
        },
      ],
      ERR_MSG: "a view item (label, features, ttl or as_of)",
    }));
  });

  // group.* | group.feature | odt_name
  featureRef = this.RULE("featureRef", () => {
    this.CONSUME1(T.Identifier, { LABEL: "group" });
    this.OPTION(() => {
      this.CONSUME(T.Dot);
      this.OR((this.alts["featureRef.OR"] ??= {
        DEF: [{ ALT: () => this.CONSUME(T.Star) }, { ALT: () => this.CONSUME2(T.Identifier, { LABEL: "feature" }) }],
        ERR_MSG: "a feature name or `*`",
      }));
    });
  });

  // model NAME { view ... task ... algorithm ... transform ... split ... metric ... require ... }
  modelDecl = this.RULE("modelDecl", () => {
    this.CONSUME(T.Model);
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.CONSUME(T.LCurly);
    this.MANY(() => this.SUBRULE(this.modelItem));
    this.CONSUME(T.RCurly);
  });

  modelItem = this.RULE("modelItem", () => {
    this.OR((this.alts["modelItem.OR"] ??= {
      DEF: [
        {
          ALT: () => {
            this.CONSUME(T.View);
            this.CONSUME1(T.Identifier, { LABEL: "value" });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Task);
            this.CONSUME2(T.Identifier, { LABEL: "value" });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Algorithm);
            this.CONSUME3(T.Identifier, { LABEL: "value" });
            this.OPTION(() => {
              this.OR2((this.alts["modelItem.OR2"] ??= [
                { ALT: () => this.CONSUME(T.StringLit, { LABEL: "file" }) },
                { ALT: () => this.SUBRULE(this.argList) },
              ]));
            });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Transform);
            this.CONSUME4(T.Identifier, { LABEL: "feature" });
            this.MANY(() => {
              this.CONSUME(T.Comma);
              this.CONSUME5(T.Identifier, { LABEL: "feature" });
            });
            this.CONSUME(T.Colon);
            this.SUBRULE(this.mdtCall);
            this.MANY2(() => {
              this.CONSUME2(T.Comma);
              this.SUBRULE2(this.mdtCall);
            });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Split);
            this.CONSUME6(T.Identifier, { LABEL: "value" });
            this.OPTION2(() => this.SUBRULE2(this.argList));
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Metric);
            this.CONSUME7(T.Identifier, { LABEL: "value" });
            this.MANY3(() => {
              this.CONSUME3(T.Comma);
              this.CONSUME8(T.Identifier, { LABEL: "value" });
            });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Require);
            this.CONSUME9(T.Identifier, { LABEL: "value" });
            this.OR3((this.alts["modelItem.OR3"] ??= {
              DEF: [
                { ALT: () => this.CONSUME(T.Lt, { LABEL: "op" }) },
                { ALT: () => this.CONSUME(T.LtEq, { LABEL: "op" }) },
                { ALT: () => this.CONSUME(T.Gt, { LABEL: "op" }) },
                { ALT: () => this.CONSUME(T.GtEq, { LABEL: "op" }) },
              ],
              ERR_MSG: "`<`, `<=`, `>` or `>=`",
            }));
            this.SUBRULE(this.expression);
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Retrain);
            this.CONSUME(T.LCurly);
            this.MANY4(() => this.SUBRULE(this.retrainItem));
            this.CONSUME(T.RCurly);
          },
        },
      ],
      ERR_MSG: "a model item (view, task, algorithm, transform, split, metric, require or retrain)",
    }));
  });

  // schedule "0 3 * * *" | schedule every 6h
  scheduleClause = this.RULE("scheduleClause", () => {
    this.CONSUME(T.Schedule);
    this.OR((this.alts["scheduleClause.OR"] ??= {
      DEF: [
        { ALT: () => this.CONSUME(T.StringLit, { LABEL: "cron" }) },
        {
          ALT: () => {
            this.CONSUME(T.Identifier, { LABEL: "every" });
            this.SUBRULE(this.expression);
          },
        },
      ],
      ERR_MSG: "a cron line in quotes or `every` and a duration",
    }));
  });

  // Inside `retrain { }`: schedule "…" | when drift(psi > 0.25) | when live(mae > 700) | promote if better(mae).
  // `when`, `promote` and the function names are plain names (checked when building the AST), not keywords.
  retrainItem = this.RULE("retrainItem", () => {
    this.OR((this.alts["retrainItem.OR"] ??= {
      DEF: [
        { ALT: () => this.SUBRULE(this.scheduleClause) },
        {
          ALT: () => {
            this.CONSUME(T.Identifier, { LABEL: "head" });
            this.OR2((this.alts["retrainItem.OR2"] ??= {
              DEF: [
                {
                  ALT: () => {
                    this.CONSUME(T.If);
                    this.CONSUME2(T.Identifier, { LABEL: "fn" });
                    this.CONSUME(T.LParen);
                    this.CONSUME3(T.Identifier, { LABEL: "measure" });
                    this.CONSUME(T.RParen);
                  },
                },
                {
                  ALT: () => {
                    this.CONSUME4(T.Identifier, { LABEL: "fn" });
                    this.CONSUME2(T.LParen);
                    this.CONSUME5(T.Identifier, { LABEL: "measure" });
                    this.OR3((this.alts["retrainItem.OR3"] ??= {
                      DEF: [
                        { ALT: () => this.CONSUME(T.Lt, { LABEL: "op" }) },
                        { ALT: () => this.CONSUME(T.LtEq, { LABEL: "op" }) },
                        { ALT: () => this.CONSUME(T.Gt, { LABEL: "op" }) },
                        { ALT: () => this.CONSUME(T.GtEq, { LABEL: "op" }) },
                      ],
                      ERR_MSG: "`<`, `<=`, `>` or `>=`",
                    }));
                    this.SUBRULE(this.expression);
                    this.CONSUME2(T.RParen);
                  },
                },
              ],
              ERR_MSG: "`if better(metric)` or a trigger like `drift(psi > 0.25)`",
            }));
          },
        },
      ],
      ERR_MSG: "a retrain item (schedule \"cron\", when drift(...), when live(...) or promote if better(...))",
    }));
  });

  // impute(median), standard_scale
  mdtCall = this.RULE("mdtCall", () => {
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.OPTION(() => this.SUBRULE(this.argList));
  });

  // (name: expr, expr, ...)
  argList = this.RULE("argList", () => {
    this.CONSUME(T.LParen);
    this.OPTION(() => {
      this.SUBRULE(this.arg);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.arg);
      });
    });
    this.CONSUME(T.RParen);
  });

  arg = this.RULE("arg", () => {
    this.OPTION(() => {
      this.CONSUME(T.Identifier, { LABEL: "name" });
      this.CONSUME(T.Colon);
    });
    this.SUBRULE(this.expression);
  });

  // index NAME on GROUP(COLUMN) [for ENTITY]   (`on` is checked in to-ast.ts: it is not reserved)
  indexDecl = this.RULE("indexDecl", () => {
    this.CONSUME(T.Index);
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.CONSUME1(T.Identifier, { LABEL: "on" });
    this.CONSUME2(T.Identifier, { LABEL: "group" });
    this.CONSUME(T.LParen);
    this.CONSUME3(T.Identifier, { LABEL: "column" });
    this.CONSUME(T.RParen);
    this.OPTION(() => {
      this.CONSUME(T.For);
      this.CONSUME4(T.Identifier, { LABEL: "entity" });
    });
  });

  // agent NAME for ENTITY { llm "m"  context g.*, ...  retrieve IDX top N  tool M, ...  prompt "..." "..." }
  agentDecl = this.RULE("agentDecl", () => {
    this.CONSUME(T.Agent);
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.CONSUME(T.For);
    this.CONSUME1(T.Identifier, { LABEL: "entity" });
    this.CONSUME(T.LCurly);
    this.MANY(() => this.SUBRULE(this.agentItem));
    this.CONSUME(T.RCurly);
  });

  agentItem = this.RULE("agentItem", () => {
    this.OR((this.alts["agentItem.OR"] ??= {
      DEF: [
        {
          ALT: () => {
            this.CONSUME(T.Llm);
            this.CONSUME(T.StringLit, { LABEL: "model" });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Context);
            this.SUBRULE(this.featureRef);
            this.MANY(() => {
              this.CONSUME(T.Comma);
              this.SUBRULE2(this.featureRef);
            });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Retrieve);
            this.CONSUME(T.Identifier, { LABEL: "index" });
            this.CONSUME1(T.Identifier, { LABEL: "top" });
            this.CONSUME(T.NumberLit, { LABEL: "k" });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Tool);
            this.CONSUME2(T.Identifier, { LABEL: "tool" });
            this.MANY2(() => {
              this.CONSUME1(T.Comma);
              this.CONSUME3(T.Identifier, { LABEL: "tool" });
            });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Prompt);
            this.AT_LEAST_ONE(() => this.CONSUME1(T.StringLit, { LABEL: "text" }));
          },
        },
      ],
      ERR_MSG: "an agent item (llm, context, retrieve, tool or prompt)",
    }));
  });

  // serve MODEL { online  batch into a.b }
  serveDecl = this.RULE("serveDecl", () => {
    this.CONSUME(T.Serve);
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.CONSUME(T.LCurly);
    this.MANY(() => this.SUBRULE(this.serveItem));
    this.CONSUME(T.RCurly);
  });

  serveItem = this.RULE("serveItem", () => {
    this.OR((this.alts["serveItem.OR"] ??= {
      DEF: [
        { ALT: () => this.CONSUME(T.Online) },
        {
          ALT: () => {
            this.CONSUME(T.Batch);
            this.CONSUME(T.Into);
            this.SUBRULE(this.dottedName);
          },
        },
      ],
      ERR_MSG: "a serve item (online or batch into)",
    }));
  });

  // ------------------------------------------------------------ expressions

  expression = this.RULE("expression", () => {
    this.OR((this.alts["expression.OR"] ??= {
      DEF: [{ ALT: () => this.SUBRULE(this.ifExpr) }, { ALT: () => this.SUBRULE(this.binaryExpr) }],
      ERR_MSG: "an expression",
    }));
  });

  ifExpr = this.RULE("ifExpr", () => {
    this.CONSUME(T.If);
    this.SUBRULE1(this.expression, { LABEL: "cond" });
    this.CONSUME(T.Then);
    this.SUBRULE2(this.expression, { LABEL: "then" });
    this.CONSUME(T.Else);
    this.SUBRULE3(this.expression, { LABEL: "else" });
  });

  /**
   * operand (op operand | in (values))*, flat: `operands[i]` and `ops[i]`
   * alternate in source order (`operands[i + 1]` is a parenList after `in`).
   */
  binaryExpr = this.RULE("binaryExpr", () => {
    this.SUBRULE(this.operand, { LABEL: "operands" });
    this.MANY(() => {
      this.OR((this.alts["binaryExpr.OR"] ??= [
        {
          ALT: () => {
            this.CONSUME(T.BinaryOperator, { LABEL: "ops" });
            this.SUBRULE2(this.operand, { LABEL: "operands" });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.In, { LABEL: "ops" });
            this.SUBRULE(this.parenList, { LABEL: "operands" });
          },
        },
      ]));
    });
  });

  /** Prefix operators (`-`, `not`) then a primary. */
  operand = this.RULE("operand", () => {
    this.MANY(() => {
      this.OR((this.alts["operand.OR"] ??= [
        { ALT: () => this.CONSUME(T.Minus, { LABEL: "prefix" }) },
        { ALT: () => this.CONSUME(T.Not, { LABEL: "prefix" }) },
      ]));
    });
    this.SUBRULE(this.primary);
  });

  primary = this.RULE("primary", () => {
    this.OR((this.alts["primary.OR"] ??= {
      DEF: [
        { ALT: () => this.CONSUME(T.Literal, { LABEL: "literal" }) },
        // `name =` never continues an expression: it starts the next feature line.
        { GATE: () => this.LA(2).tokenType !== T.Equals, ALT: () => this.SUBRULE(this.nameExpr) },
        {
          ALT: () => {
            this.CONSUME(T.LParen);
            this.SUBRULE(this.expression);
            this.CONSUME(T.RParen);
          },
        },
        { ALT: () => this.SUBRULE(this.listExpr) },
      ],
      ERR_MSG: "an expression",
    }));
  });

  /** `x`, `a.b`, `f(args)`, `agg(args) over window` */
  nameExpr = this.RULE("nameExpr", () => {
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.OPTION(() => {
      this.OR((this.alts["nameExpr.OR"] ??= [
        {
          ALT: () => {
            this.CONSUME(T.Dot);
            this.CONSUME2(T.Identifier, { LABEL: "property" });
          },
        },
        {
          ALT: () => {
            this.SUBRULE(this.parenList, { LABEL: "args" });
            this.OPTION2(() => {
              this.CONSUME(T.Over);
              // `over next 7d`: a forward window (labels only); `next` is a keyword only here
              this.OPTION3({
                GATE: () => this.LA(1).tokenType === T.Identifier && this.LA(1).image === "next" && this.LA(2).tokenType !== T.RParen,
                DEF: () => this.CONSUME3(T.Identifier, { LABEL: "next" }),
              });
              this.SUBRULE(this.primary, { LABEL: "over" });
            });
          },
        },
      ]));
    });
  });

  listExpr = this.RULE("listExpr", () => {
    this.CONSUME(T.LBracket);
    this.OPTION(() => {
      this.SUBRULE(this.expression, { LABEL: "items" });
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.expression, { LABEL: "items" });
      });
    });
    this.CONSUME(T.RBracket);
  });

  /** `(expr, expr, ...)`: call arguments and `in` values. */
  parenList = this.RULE("parenList", () => {
    this.CONSUME(T.LParen);
    this.OPTION(() => {
      this.SUBRULE(this.expression, { LABEL: "items" });
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.expression, { LABEL: "items" });
      });
    });
    this.CONSUME(T.RParen);
  });
}

let instance: FtiParser | undefined;

/** The one parser instance (grammar analysis runs once, on first use). */
export function getParser(): FtiParser {
  instance ??= new FtiParser();
  return instance;
}

export type { CstNode, IToken };
