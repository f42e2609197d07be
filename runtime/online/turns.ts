// Bounding the work one request does on the event loop. A 10,000-instance
// batch is validated, looked up, scored, logged and serialized in slices of
// INSTANCES_PER_TURN instances with a turn of the event loop between them, so
// /healthz and the small requests arriving meanwhile are answered while it is
// in flight instead of after it (service.ts, batcher.ts, http.ts).

/** Instances a request works through between two turns of the event loop. */
export const INSTANCES_PER_TURN = 256;

/** Lets the event loop run everything that is ready (I/O included) before going on. */
export const nextTurn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));
