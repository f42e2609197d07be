// The one catalogue of what a model can be made of: tasks, built-in
// algorithms with their hyperparameters, metrics, and model-dependent
// transformation (MDT) kinds. The checker (compiler/checker/models.ts)
// validates specs against it and the runtime (learners/, training/) executes
// it, so a name or a default is written once. Plain data with no imports:
// compiler/ may import it without loading the runtime, and generated code's
// type-check (through api.ts) stays light.

export const TASKS = ["regression", "binary_classification", "multiclass_classification"] as const;
export type Task = (typeof TASKS)[number];

/**
 * The most classes a multiclass label may have in its train split. More is
 * almost always a mistake (an id, a free-text or a measured column as the
 * label), and each class costs a tree per round (gbdt) or a weight vector.
 */
export const MAX_CLASSES = 100;

/** One hyperparameter of a built-in algorithm: its type, the allowed range and the default. */
export interface Hyperparameter {
  type: "int" | "float";
  min: number;
  max: number;
  default: number;
}

/** The built-in algorithms (trained by runtime/learners); `onnx` models are trained elsewhere. */
export const ALGORITHMS = {
  linear: {
    tasks: ["regression"],
    params: { l2: { type: "float", min: 0, max: Infinity, default: 0 } },
  },
  logistic: {
    // multiclass: multinomial (softmax) regression, one weight vector per class
    tasks: ["binary_classification", "multiclass_classification"],
    params: {
      l2: { type: "float", min: 0, max: Infinity, default: 1 },
      // Newton's method: `iterations` caps the steps; there is no step size to set.
      iterations: { type: "int", min: 1, max: 1000, default: 100 },
    },
  },
  gbdt: {
    // multiclass: one tree per class per round (`trees` rounds), softmax of the K scores
    tasks: ["regression", "binary_classification", "multiclass_classification"],
    params: {
      trees: { type: "int", min: 1, max: 100000, default: 100 },
      depth: { type: "int", min: 1, max: 16, default: 6 },
      learning_rate: { type: "float", min: 1e-6, max: 1, default: 0.1 },
      min_leaf: { type: "int", min: 1, max: 1e9, default: 20 },
      bins: { type: "int", min: 2, max: 255, default: 255 },
      l2: { type: "float", min: 0, max: Infinity, default: 0 },
    },
  },
} as const satisfies Record<string, { tasks: readonly Task[]; params: Record<string, Hyperparameter> }>;

export type BuiltinAlgorithm = keyof typeof ALGORITHMS;
/** The algorithm kinds a model may name: the built-ins and an external ONNX file. */
export const ALGORITHM_KINDS = [...(Object.keys(ALGORITHMS) as BuiltinAlgorithm[]), "onnx"] as const;

/** The hyperparameters of a built-in algorithm as the learner takes them. */
export type AlgorithmParams<A extends BuiltinAlgorithm> = { [P in keyof (typeof ALGORITHMS)[A]["params"]]: number };

/** Every hyperparameter of `algorithm` at its default. */
export function defaultParams<A extends BuiltinAlgorithm>(algorithm: A): AlgorithmParams<A> {
  const out: Record<string, number> = {};
  for (const [name, p] of Object.entries(ALGORITHMS[algorithm].params) as Array<[string, Hyperparameter]>) out[name] = p.default;
  return out as AlgorithmParams<A>;
}

const CLASSIFICATION = ["binary_classification", "multiclass_classification"] as const;

/** The metrics measured on the test split (runtime/learners/metrics.ts), the tasks each applies to, and whether a better model has a higher value. */
export const METRICS = {
  mae: { tasks: ["regression"], higherIsBetter: false },
  rmse: { tasks: ["regression"], higherIsBetter: false },
  r2: { tasks: ["regression"], higherIsBetter: true },
  auc: { tasks: ["binary_classification"], higherIsBetter: true },
  logloss: { tasks: CLASSIFICATION, higherIsBetter: false },
  accuracy: { tasks: CLASSIFICATION, higherIsBetter: true },
  macro_f1: { tasks: ["multiclass_classification"], higherIsBetter: true },
} as const satisfies Record<string, { tasks: readonly Task[]; higherIsBetter: boolean }>;

/** Whether `a` is strictly better than `b` on `metric` (false when either is not a number). */
export function isBetter(metric: string, a: number | null | undefined, b: number | null | undefined): boolean {
  if (a === null || a === undefined || b === null || b === undefined || Number.isNaN(a) || Number.isNaN(b)) return false;
  const m = METRICS[metric as MetricName];
  return m?.higherIsBetter ? a > b : a < b;
}

export type MetricName = keyof typeof METRICS;

/** The metrics of a task, in catalogue order. */
export function metricsOf(task: Task): MetricName[] {
  return (Object.keys(METRICS) as MetricName[]).filter((m) => (METRICS[m].tasks as readonly Task[]).includes(task));
}

/** The model-dependent transformations (`transform x: impute(median), standard_scale`). */
export const MDT_KINDS = ["standard_scale", "min_max_scale", "one_hot", "log1p", "clip", "impute", "bucketize"] as const;
export type MdtKind = (typeof MDT_KINDS)[number];
