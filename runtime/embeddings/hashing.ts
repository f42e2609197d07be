// The built-in text embedding: deterministic, offline, no model file.
//
// Feature hashing ("the hashing trick") of three kinds of features of the text:
//   - words:            w:<word>                 weight 1.0
//   - word bigrams:     b:<word> <next word>     weight 0.5
//   - character 3-grams of each word padded as "<word>": c:<3 chars>, weight 0.25
// Text is NFKC-normalised and lower-cased; words are runs of letters and digits.
// Each feature's weight is multiplied by a sublinear term frequency, 1 + ln(tf)
// (the "tf" of tf-idf). There is deliberately no corpus idf: an idf would make
// one document's vector depend on the other documents, so adding a note today
// would change the stored embedding of a note written last year (a point-in-time
// leak, and a stored feature that is not a function of its row). The kind
// weights play idf's role of down-weighting frequent, less specific features
// (character 3-grams are shared by many words, bigrams are rarer than words).
// Each feature is hashed (FNV-1a, 32 bits) to a slot h mod N with a sign from a
// second, independent hash bit, so collisions cancel in expectation; the vector
// is then L2-normalised (cosine similarity = dot product). Empty text (no word)
// gives the zero vector.

/** FNV-1a over the UTF-16 code units of `s`, continuing from `seed`. */
function fnv1a(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

const SIGN_SEED = 0x5bd1e995;
const WORD_WEIGHT = 1;
const BIGRAM_WEIGHT = 0.5;
const CHAR_WEIGHT = 0.25;

/** The words of a text: NFKC, lower case, runs of letters and digits. */
export function words(text: string): string[] {
  return text.normalize("NFKC").toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** The weighted features of a text before hashing (exposed for tests and docs). */
export function hashingFeatures(text: string): Map<string, number> {
  const counts = new Map<string, { tf: number; weight: number }>();
  const add = (f: string, weight: number) => {
    const c = counts.get(f);
    if (c) c.tf++;
    else counts.set(f, { tf: 1, weight });
  };
  const ws = words(text);
  for (let i = 0; i < ws.length; i++) {
    add("w:" + ws[i], WORD_WEIGHT);
    if (i + 1 < ws.length) add("b:" + ws[i] + " " + ws[i + 1], BIGRAM_WEIGHT);
    const padded = "<" + ws[i] + ">";
    for (let j = 0; j + 3 <= padded.length; j++) add("c:" + padded.slice(j, j + 3), CHAR_WEIGHT);
  }
  const out = new Map<string, number>();
  for (const [f, c] of counts) out.set(f, c.weight * (1 + Math.log(c.tf)));
  return out;
}

/** The embedding of `text` in `dim` dimensions (L2 norm 1, or all zeros for text without words). */
export function hashingEmbedding(text: string, dim: number): Float32Array {
  const v = new Float64Array(dim);
  for (const [f, w] of hashingFeatures(text)) {
    const slot = fnv1a(f) % dim;
    const sign = fnv1a(f, SIGN_SEED) & 1 ? -1 : 1;
    v[slot] += sign * w;
  }
  let norm = 0;
  for (let i = 0; i < dim; i++) norm += v[i] * v[i];
  norm = Math.sqrt(norm);
  const out = new Float32Array(dim);
  if (norm > 0) for (let i = 0; i < dim; i++) out[i] = v[i] / norm;
  return out;
}
