// The softmax both multi-class learners use: the multinomial logistic's
// objective and predictions, and the softmax GBDT's predictions.

/**
 * dst[dstAt + c] ← softmax(src[srcAt .. srcAt + k))[c], without overflow (the
 * row's maximum is subtracted first); in place when src and dst are the same
 * row. Returns the row's log-sum-exp (the multinomial's loss needs it).
 */
export function softmax(src: Float64Array, srcAt: number, dst: Float64Array, dstAt: number, k: number): number {
  let max = -Infinity;
  for (let c = 0; c < k; c++) if (src[srcAt + c] > max) max = src[srcAt + c];
  let sum = 0;
  for (let c = 0; c < k; c++) {
    dst[dstAt + c] = Math.exp(src[srcAt + c] - max);
    sum += dst[dstAt + c];
  }
  for (let c = 0; c < k; c++) dst[dstAt + c] /= sum;
  return max + Math.log(sum);
}
