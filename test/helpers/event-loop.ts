// How often the event loop turned while some work was in flight: a
// setImmediate chain counts the turns until the work settles. Used by the tests
// that prove a large request is worked through in slices, not in one block.

/** Runs `work` and returns its value with the number of event-loop turns taken meanwhile. */
export async function countingLoopTurns<T>(work: () => Promise<T>): Promise<{ value: T; turns: number }> {
  let turns = 0;
  let done = false;
  const tick = () => {
    if (done) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  try {
    const value = await work();
    return { value, turns };
  } finally {
    done = true;
  }
}
