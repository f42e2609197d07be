// What a multiclass prediction says, from its K probabilities (the model
// version's classes in order): the most probable class (ties: the first),
// and every class's probability. One place for the shape batch and online
// answers share: online `prediction` + `probabilities` (an object, class →
// probability), batch `prediction`, `probability` (the predicted class's) and
// `probabilities` (a MAP, class → probability).

import { argmaxRow } from "../learners/metrics.ts";
import { sqlString } from "../store/sql.ts";

type Classes = ReadonlyArray<string | number>;

/** Online: row i's class (null when the model could not predict: a NaN probability) and its probabilities by class. */
export function classAnswer(classes: Classes, probs: ArrayLike<number>, i: number): { prediction: string | number | null; probabilities: Record<string, number> | null } {
  const k = classes.length;
  const c = argmaxRow(probs, i, k);
  if (c < 0) return { prediction: null, probabilities: null };
  const probabilities: Record<string, number> = {};
  for (let j = 0; j < k; j++) probabilities[String(classes[j])] = probs[i * k + j];
  return { prediction: classes[c], probabilities };
}

/** The batch staging table's columns of the K probabilities (beside `prediction`, the class index). */
export function probabilityColumns(k: number): string[] {
  return Array.from({ length: k }, (_, j) => `__p_${j}`);
}

/** Batch: the class index of each row (NaN: no prediction) and each class's probability column, from row-major [n × K]. */
export function stagedClassColumns(probs: Float64Array, n: number, k: number): Record<string, Float64Array> {
  const index = new Float64Array(n);
  const out: Record<string, Float64Array> = { prediction: index };
  const cols = probabilityColumns(k).map((name) => (out[name] = new Float64Array(n)));
  for (let i = 0; i < n; i++) {
    const c = argmaxRow(probs, i, k);
    index[i] = c < 0 ? NaN : c;
    for (let j = 0; j < k; j++) cols[j][i] = probs[i * k + j];
  }
  return out;
}

/** A list literal of the classes: VARCHAR[] for a string label, BIGINT[] for an int one. */
function classList(classes: Classes): string {
  return typeof classes[0] === "number" ? `[${classes.join(", ")}]::BIGINT[]` : `[${classes.map((c) => sqlString(String(c))).join(", ")}]::VARCHAR[]`;
}

/**
 * Batch: the SELECT items `prediction`, `probability`, `probabilities` over
 * the staging table `p` (class index `prediction`, probabilities __p_j);
 * `fail` (an error() call) runs where `outOfStep` holds: scores paired with another row.
 */
export function classSelect(classes: Classes, p: string, outOfStep: string, fail: string): string[] {
  const probs = probabilityColumns(classes.length).map((c) => `${p}.${c}`);
  const none = `isnan(${p}.prediction)`;
  const at = `(${p}.prediction::INTEGER + 1)`;
  const type = typeof classes[0] === "number" ? "BIGINT" : "VARCHAR";
  return [
    `CASE WHEN ${outOfStep} THEN ${fail}::${type} WHEN ${none} THEN NULL ELSE list_extract(${classList(classes)}, ${at}) END AS prediction`,
    `CASE WHEN ${none} THEN NULL ELSE list_extract([${probs.join(", ")}], ${at}) END AS probability`,
    `CASE WHEN ${none} THEN NULL ELSE MAP([${classes.map((c) => sqlString(String(c))).join(", ")}], [${probs.join(", ")}]) END AS probabilities`,
  ];
}
