// Hover on the spec's vocabulary rather than its names: a type, a task, an
// algorithm and its hyperparameters, an MDT, a metric, a split, and the
// clause keywords whose meaning is not obvious from the word (`stream`,
// `as_of strict`, `retrain` triggers, …). Option values are read in their
// clause (cursorContext), so a column named `time` is not taken for the split.
// Ranges, defaults and tasks come from the runtime's catalogue; the short
// texts follow docs/language.md.

import type { IToken } from "chevrotain";
import { ALGORITHMS, METRICS, type BuiltinAlgorithm, type Hyperparameter } from "../../runtime/catalogue.ts";
import { SCALAR_TYPES } from "../checker/types.ts";
import type { Analysis } from "./analysis.ts";
import { cursorContext } from "./context.ts";

const TYPES: Record<string, string> = {
  int: "whole numbers within ±(2^53 − 1) (DuckDB `BIGINT`, TypeScript `number`)",
  float: "finite doubles, never NaN or ±Infinity (DuckDB `DOUBLE`)",
  bool: "`true` or `false`",
  string: "Unicode text",
  timestamp: "an instant, millisecond precision, UTC",
};

const MDTS: Record<string, string> = {
  standard_scale: "`(x − mean) / std`: mean and standard deviation of the non-null train values (a std of 0 is taken as 1)",
  min_max_scale: "`(x − min) / (max − min)` over the non-null train values; 0 when max = min",
  log1p: "`ln(1 + x)`; null when x ≤ −1",
  clip: "`clip(min: a, max: b)`: x limited to [a, b]",
  impute: "`impute(mean)`, `impute(median)` (of the non-null train values) or `impute(constant: v)`: null → that value",
  bucketize: "`bucketize([b1, b2, …])`: the number of boundaries ≤ x, 0 … n",
  one_hot: "one 0/1 column per category (the given list, else the distinct non-null train values, sorted); null and unseen values are all zeros. Last step of its input",
};

/** Words inside an MDT's parentheses. */
const MDT_ARGS: Record<string, string> = {
  mean: "`impute(mean)`: a null becomes the mean of the non-null train values",
  median: "`impute(median)`: a null becomes the median of the non-null train values",
  constant: "`impute(constant: v)`: a null becomes v",
  min: "`clip(min: a)`: values below a become a",
  max: "`clip(max: b)`: values above b become b",
  categories: "`one_hot(categories: [\"a\", \"b\"])`: the categories, instead of the train values'",
};

const TASKS: Record<string, string> = {
  regression: "predict a number (a `float` or `int` label)",
  binary_classification: "predict the probability of `true` (a `bool` label)",
  multiclass_classification: "predict one of a label's classes (a `string` or `int` label)",
};

const SPLITS: Record<string, string> = {
  time: "`time(test_last: 90d)`: the rows within the duration of the latest label are the test set; `time(test_from: 2025-06-01)`: the rows at or after the instant",
  random: "`random(test_fraction: 0.2, seed: 42)`: each row is drawn into the test set with probability `test_fraction`",
  test_last: "the test set: rows whose label time is within this duration of the latest label",
  test_from: "the test set: rows whose label time is at or after this instant (UTC)",
  test_fraction: "the probability (0 < f < 1) that a row is drawn into the test set",
  seed: "the seed of the random split (an int)",
};

/** Keywords and clause words, wherever they are. */
const KEYWORDS: Record<string, string> = {
  stream: "the source is also pushed one event at a time (`fti serve`: POST /v1/sources/<name>/events; `fti stream`)",
  lateness: "how late an event may arrive and still be applied online",
  event_time: "the column holding when each row happened: windows and point-in-time joins use it",
  valid_from: "reference data: each row holds from this time until the key's next row (or `valid_to`)",
  valid_to: "reference data: when a row stops holding",
  unique: "the column(s) no two rows may share: a repeated key is quarantined",
  ttl: "a feature value older than this at the spine row's time is missing (null)",
  as_of: "which feature values a spine row sees: `strict` (before its time) or `inclusive` (at or before)",
  strict: "a spine row at time t sees feature values computed strictly before t (the default)",
  inclusive: "a spine row at time t sees feature values computed at or before t",
  online: "served by `fti serve`: request → online store lookup → ODTs → MDTs → model",
  batch: "`batch into schema.table`: the table `fti predict` writes its predictions to",
  retrain: "what `fti run` does for this model: retrain on a schedule or a trigger, promote by a rule",
  when: "a retrain trigger: `drift(psi > x)` or `live(<metric> > x)`",
  drift: "retrain when an input's PSI (or KS statistic) against the training data passes the bound, in the latest monitoring window",
  live: "retrain when the live metric (served predictions joined with their later labels) crosses the bound",
  psi: "population stability index of an input between training and serving",
  ks: "Kolmogorov–Smirnov statistic of an input between training and serving",
  promote: "`promote if better(metric)`: the retrained version replaces production only if it is strictly better on the same recent rows",
  better: "`better(metric)`: the challenger beats production on this metric",
  top: "how many documents `retrieve` returns",
  on: "`index x on group(column)`: the group and its embedding column the index searches",
};

function hyperparameterText(name: string, h: Hyperparameter): string {
  const range = `${h.min}${h.max === Infinity ? " or more" : ` … ${h.max}`}`;
  return `hyperparameter \`${name}\`: ${h.type}, ${range}, default ${h.default}`;
}

function algorithmText(name: string): string | undefined {
  if (name === "onnx") return 'a model trained elsewhere: `onnx "model.onnx"` (its inputs are the view\'s features)';
  if (!Object.hasOwn(ALGORITHMS, name)) return undefined;
  const alg = ALGORITHMS[name as BuiltinAlgorithm];
  const params = Object.entries(alg.params as Record<string, Hyperparameter>).map(([n, h]) => `\`${n}\` (${h.type}, default ${h.default})`);
  return `algorithm \`${name}\` for ${alg.tasks.join(", ")}; hyperparameters: ${params.join(", ")}`;
}

function metricText(name: string): string | undefined {
  if (!Object.hasOwn(METRICS, name)) return undefined;
  const m = METRICS[name as keyof typeof METRICS];
  return `metric \`${name}\` (${m.tasks.join(", ")}): ${m.higherIsBetter ? "higher" : "lower"} is better`;
}

/** What the word of `token` means where it is, or undefined. */
export function wordHover(a: Analysis, token: IToken): string | undefined {
  const word = token.image;
  const ctx = cursorContext(a.text, a.tokens, token.startOffset);
  const prev = ctx.prev?.image;
  if (ctx.clause === "algorithm") {
    if (prev === "algorithm") return algorithmText(word);
    const alg = ctx.clauseArg && Object.hasOwn(ALGORITHMS, ctx.clauseArg) ? (ALGORITHMS[ctx.clauseArg as BuiltinAlgorithm].params as Record<string, Hyperparameter>) : undefined;
    if (alg && ctx.parens > 0 && Object.hasOwn(alg, word)) return hyperparameterText(word, alg[word]);
  }
  if (ctx.clause === "task" && prev === "task") return TASKS[word] && `task \`${word}\`: ${TASKS[word]}`;
  if (ctx.clause === "transform" && ctx.afterColon && ctx.parens === 0 && Object.hasOwn(MDTS, word)) return `MDT \`${word}\` (fitted on the training split, applied unchanged at inference): ${MDTS[word]}`;
  if (ctx.clause === "transform" && ctx.parens > 0 && Object.hasOwn(MDT_ARGS, word)) return MDT_ARGS[word];
  if (ctx.clause === "split" && Object.hasOwn(SPLITS, word)) return `split: ${SPLITS[word]}`;
  const metricPlace = ctx.clause === "metric" || ctx.clause === "require" || (ctx.decl === "model" && ctx.depth === 2 && (ctx.prev2?.image === "live" || ctx.prev2?.image === "better"));
  if (metricPlace) {
    const m = metricText(word);
    if (m) return m;
  }
  if (prev === ":" && (SCALAR_TYPES as readonly string[]).includes(word)) return `type \`${word}\`: ${TYPES[word]}; \`${word}?\` may also be null`;
  return Object.hasOwn(KEYWORDS, word) ? `\`${word}\`: ${KEYWORDS[word]}` : undefined;
}
