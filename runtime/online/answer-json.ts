// The JSON text of a prediction answer and of its request log line, built
// from the same serialized parts. Both hold the instance's features, ODT
// values, feature times and prediction: serialized once here, they are
// concatenated into the answer `fti serve` sends and into the log line, where
// before each was `JSON.stringify`'d whole (the answer by Fastify, the line by
// log.ts) — two serializations of the same numbers per prediction, ~25 % of
// the server's CPU per answer. The texts are exactly what `JSON.stringify`
// gives the answer object and the log entry (test/online-answer-json.test.ts):
// the keys in the same order, each part stringified by JSON.stringify itself.

import type { Scalar } from "../api.ts";
import type { OnlineInstanceResult } from "./types.ts";

const J = JSON.stringify;

/** The answer and log texts of the instances of one request (one model version, one request time). */
export class PredictionJson {
  /** `"model":…,"version":…,"request_time":…` (an answer's first keys). */
  private readonly answerHead: string;
  /** `"ts":…,"model":…,"version":…` (a log entry's keys after its id). */
  private readonly logHead: string;

  constructor(model: string, version: number, requestTime: string) {
    this.answerHead = `"model":${J(model)},"version":${J(version)},"request_time":${J(requestTime)}`;
    this.logHead = `"ts":${J(requestTime)},"model":${J(model)},"version":${J(version)}`;
  }

  /**
   * One instance: `answer`, its JSON in a batch's `predictions` (or, with
   * `single`, the whole answer to a one-instance request), and `log`, the
   * request log entry's text up to its prediction (log.ts `SerializedEntry`).
   */
  instance(x: OnlineInstanceResult, request: Record<string, Scalar>, single: boolean): { answer: string; log: string } {
    // multiclass: the class, then every class's probability
    const prediction = x.probabilities === undefined ? J(x.prediction) : `${J(x.prediction)},"probabilities":${J(x.probabilities)}`;
    const features = J(x.features);
    const odts = J(x.odts);
    const times = J(x.feature_times);
    const id = J(x.request_id);
    const late = x.late_events ? `,"late_events":${J(x.late_events)}` : "";
    // Joined, not concatenated: one flat string each instead of a rope of ~20 pieces, which a large
    // batch holds until it is answered and logged (each piece an object the GC copies meanwhile).
    const answer = [single ? `{${this.answerHead},` : "{", '"prediction":', prediction, ',"features":', features, ',"odts":', odts, ',"feature_times":', times, late, ',"request_id":', id, "}"].join("");
    const log = ['{"v":2,"id":', id, ",", this.logHead, ',"request":', J(request), ',"features":', features, ',"feature_times":', times, ',"odts":', odts, ',"prediction":', prediction].join("");
    return { answer, log };
  }

  /** A batch answer around its instances' texts (or runs of them already joined with commas). */
  batch(instances: readonly string[]): string {
    return `{${this.answerHead},"predictions":[${instances.join(",")}]}`;
  }
}
