// Rejected prediction requests (4xx answers of the service), logged so that
// `fti monitor` can report error rates per window. They go to their own
// directory under the request log (`<logs>/rejected.d/<model>/…ndjson`, one
// line per rejected request) through the same batched writer; the request
// log's own readers never see them.

import { join } from "node:path";

export interface RejectedRequestEntry {
  v: 1;
  /** Request time (ISO). */
  ts: string;
  model: string;
  status: number;
  code: string;
  /** Instances in the rejected body (1 for a single-instance request). */
  instances: number;
}

/** `rejected.d` cannot be a model's log directory: model names have no dot. */
export function rejectedLogDir(logsDir: string): string {
  return join(logsDir, "rejected.d");
}
