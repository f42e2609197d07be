// The heap probes' measure of how much a major GC of the live heap costs: the median of five full GCs
// in a row (the first may also sweep garbage of the run before it). Needs `node --expose-gc`.

export function medianFullGcMs(gc: () => void): number {
  const pauses: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    gc();
    pauses.push(performance.now() - t);
  }
  pauses.sort((a, b) => a - b);
  return +pauses[2].toFixed(1);
}
