// Bounding the work one request does on the event loop. A 10,000-instance
// batch is validated, looked up, scored, logged and serialized in slices of
// INSTANCES_PER_TURN instances with a turn of the event loop between them, so
// /healthz and the small requests arriving meanwhile are answered while it is
// in flight instead of after it (service.ts, batcher.ts, http.ts).

/** Instances a request works through between two turns of the event loop. */
export const INSTANCES_PER_TURN = 256;

/** Lets the event loop run everything that is ready (I/O included) before going on. */
export const nextTurn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The JSON text of an answer whose `predictions` array is long, serialized a
 * slice at a time; exactly `JSON.stringify(body)` when `predictions` is the
 * body's last key (as in every batch answer). null for any other body: the
 * caller sends it as usual.
 */
export async function sliceSerialized(body: unknown): Promise<string | null> {
  if (body === null || typeof body !== "object") return null;
  const keys = Object.keys(body);
  const predictions = (body as { predictions?: unknown }).predictions;
  if (keys[keys.length - 1] !== "predictions" || !Array.isArray(predictions) || predictions.length <= INSTANCES_PER_TURN) return null;
  // `{"model":…,"predictions":[]}` without its closing `]}`
  const head = JSON.stringify({ ...body, predictions: [] }).slice(0, -2);
  const parts: string[] = [head];
  for (let i = 0; i < predictions.length; i += INSTANCES_PER_TURN) {
    if (i > 0) await nextTurn();
    const slice = JSON.stringify(predictions.slice(i, i + INSTANCES_PER_TURN));
    parts.push(i > 0 ? "," : "", slice.slice(1, -1));
  }
  parts.push("]}");
  return parts.join("");
}
