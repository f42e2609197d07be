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
 * `each(i)` for i from `from` to `to` (exclusive), INSTANCES_PER_TURN of them per turn of the event loop. A range
 * that fits in one turn runs at once and gives undefined, no promise: a one-instance request then goes through
 * its steps without an `await` each (an async step cost a promise, a suspended frame and a microtask turn: ~1 KB
 * of the ~26 KB a prediction allocated). A longer range gives the promise of its sliced run.
 */
export function inTurns(from: number, to: number, each: (i: number) => void): Promise<void> | undefined {
  if (to - from <= INSTANCES_PER_TURN) {
    for (let i = from; i < to; i++) each(i);
    return undefined;
  }
  return (async () => {
    for (let i = from; i < to; i++) {
      if (i > from && (i - from) % INSTANCES_PER_TURN === 0) await nextTurn();
      each(i);
    }
  })();
}

/** `then(value)` once `value` is there: at once when it is not a promise. */
export function whenReady<T, R>(value: T | Promise<T>, then: (v: T) => R): R | Promise<R> {
  return value instanceof Promise ? value.then(then) : then(value);
}
