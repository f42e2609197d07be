// Exact arithmetic on doubles with BigInt, for the brute-force reference of
// the window semantics: a sum is the exact sum of the values rounded once to
// the nearest double (ties to even). Independent of runtime/stream/exact-sum.ts
// (rational arithmetic, not floating-point expansions), so a test comparing the
// two checks the stream's algorithm, not a copy of it.

const SCALE = 1074; // every finite double is an integer multiple of 2^-1074

/** x · 2^1074 as a BigInt (exact for every finite double). */
export function toScaled(x: number): bigint {
  if (!Number.isFinite(x)) throw new Error(`not finite: ${x}`);
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const negative = hi >>> 31 === 1;
  const exponent = (hi >>> 20) & 0x7ff;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (exponent > 0) mantissa = (mantissa | (1n << 52n)) << BigInt(exponent - 1);
  return negative ? -mantissa : mantissa;
}

/** x · 2^k, in steps that never leave the double range before the end (exact when the result is representable). */
function timesPow2(x: number, k: number): number {
  while (k > 1000) {
    x *= 2 ** 1000;
    k -= 1000;
  }
  while (k < -1000) {
    x *= 2 ** -1000;
    k += 1000;
  }
  return x * 2 ** k;
}

/** The double nearest to n · 2^-s (ties to even). */
export function roundScaled(n: bigint, s: number): number {
  if (n === 0n) return 0;
  const negative = n < 0n;
  const a = negative ? -n : n;
  const hex = a.toString(16);
  const bits = (hex.length - 1) * 4 + parseInt(hex[0], 16).toString(2).length;
  const lead = bits - 1 - s; // exponent of the leading bit
  // 53 significant bits, fewer below the normal range (subnormals: multiples of 2^-1074).
  const keep = lead >= -1022 ? 53 : 53 - (-1022 - lead);
  const shift = bits - keep;
  let q: bigint;
  if (shift <= 0) q = a;
  else {
    q = a >> BigInt(shift);
    const rest = a - (q << BigInt(shift));
    const half = 1n << BigInt(shift - 1);
    if (rest > half || (rest === half && (q & 1n) === 1n)) q += 1n;
  }
  const v = timesPow2(Number(q), Math.max(shift, 0) - s);
  return negative ? -v : v;
}

/** The exact sum of `xs`, rounded once. */
export function exactSum(xs: number[]): number {
  return roundScaled(xs.reduce((acc, x) => acc + toScaled(x), 0n), SCALE);
}

/** avg: the exactly rounded sum divided by the count (one more rounding, as DuckDB's avg and the stream do). */
export function exactAvg(xs: number[]): number {
  return exactSum(xs) / xs.length;
}

/** Sample stddev: n·Σx² − (Σx)² exact, rounded once, divided by n(n−1), square root. */
export function exactStddev(xs: number[]): number {
  const n = BigInt(xs.length);
  let sum = 0n;
  let squares = 0n;
  for (const x of xs) {
    const v = toScaled(x);
    sum += v;
    squares += v * v;
  }
  const numerator = roundScaled(n * squares - sum * sum, 2 * SCALE);
  return Math.sqrt(numerator / (xs.length * (xs.length - 1)));
}

/** The rounding error bound of a float sum of `xs` in any order: (n − 1)·2^-53·Σ|x| (and a recursive sum's result of it). */
export function sumErrorBound(xs: number[]): number {
  let abs = 0;
  for (const x of xs) abs += Math.abs(x);
  return Math.max(xs.length - 1, 1) * 2 ** -52 * abs;
}
