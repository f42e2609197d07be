// The entity-key → row index of a cached online table, kept off the JS heap.
//
// A Map of a million key strings is a million heap objects that every major
// GC of a loaded server marks (the p99 of `fti serve` was GC pauses). Here the
// keys' UTF-16 code units are packed in one buffer (exact for any string,
// lone surrogates included), and an open-addressing hash table
// (linear probing, Int32Array) maps them to row numbers: a handful of typed
// arrays whatever the entity count, which the GC never walks.
//
// Semantics are a Map's for what the service uses: `get` (exact string
// equality), `size`, `keys()` (insertion order), and a key added twice maps to
// its last row.

const EMPTY = -1;

/** The final mix of the FNV-1a hash of a key's code units, so that linear probing sees spread-out slots. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class KeyIndex {
  /** The keys' code units, back to back, in insertion order. */
  private units: Uint16Array;
  /** Start of key i in `units` (key i ends at starts[i + 1]). */
  private starts: Uint32Array;
  /** Row of key i. */
  private rows: Int32Array;
  /** Hash of key i (compared before the code units). */
  private hashes: Uint32Array;
  /** Slot → key number, EMPTY when free. Length: a power of two, at least twice the keys. */
  private slots: Int32Array;
  private used = 0;
  /** Hash of the key last passed to `find` (reused by `set`). */
  private lastHash = 0;

  constructor(expected = 16) {
    const cap = Math.max(16, expected);
    this.units = new Uint16Array(cap * 8);
    this.starts = new Uint32Array(cap + 1);
    this.rows = new Int32Array(cap);
    this.hashes = new Uint32Array(cap);
    this.slots = new Int32Array(tableSize(cap)).fill(EMPTY);
  }

  /** An index of `keys[i] → i` (a key repeated maps to its last position). */
  static of(keys: ArrayLike<string>): KeyIndex {
    const ix = new KeyIndex(keys.length);
    for (let i = 0; i < keys.length; i++) ix.set(keys[i], i);
    return ix;
  }

  /** Entities held (distinct keys). */
  get size(): number {
    return this.used;
  }

  /** The row of `key`, undefined when absent. */
  get(key: string): number | undefined {
    const k = this.find(key);
    return k === EMPTY ? undefined : this.rows[k];
  }

  has(key: string): boolean {
    return this.find(key) !== EMPTY;
  }

  /** Maps `key` to `row` (replacing the row of a key already held). */
  set(key: string, row: number): void {
    const k = this.find(key);
    if (k !== EMPTY) {
      this.rows[k] = row;
      return;
    }
    const h = this.lastHash;
    if (this.used === this.rows.length) this.growKeys();
    if ((this.used + 1) * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    const i = this.used;
    const start = this.starts[i];
    this.ensureUnits(start + key.length);
    for (let c = 0; c < key.length; c++) this.units[start + c] = key.charCodeAt(c);
    this.starts[i + 1] = start + key.length;
    this.used++;
    this.rows[i] = row;
    this.hashes[i] = h;
    this.place(i, h);
  }

  /** The keys in insertion order. */
  *keys(): IterableIterator<string> {
    for (let i = 0; i < this.used; i++) {
      let s = "";
      for (let c = this.starts[i]; c < this.starts[i + 1]; c++) s += String.fromCharCode(this.units[c]);
      yield s;
    }
  }

  // ---- internals

  /** Key number holding `key`, or EMPTY. */
  private find(key: string): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    h = this.lastHash = mix(h);
    const mask = this.slots.length - 1;
    const len = key.length;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const k = this.slots[s];
      if (k === EMPTY) return EMPTY;
      if (this.hashes[k] !== h) continue;
      const start = this.starts[k];
      if (this.starts[k + 1] - start !== len) continue;
      let i = 0;
      while (i < len && this.units[start + i] === key.charCodeAt(i)) i++;
      if (i === len) return k;
    }
  }

  private place(k: number, h: number): void {
    const mask = this.slots.length - 1;
    let s = h & mask;
    while (this.slots[s] !== EMPTY) s = (s + 1) & mask;
    this.slots[s] = k;
  }

  /** Room for `n` code units, keeping the ones written so far. */
  private ensureUnits(n: number): void {
    if (n <= this.units.length) return;
    const next = new Uint16Array(Math.max(n, this.units.length * 2));
    next.set(this.units.subarray(0, this.starts[this.used]));
    this.units = next;
  }

  private growKeys(): void {
    const cap = this.rows.length * 2;
    this.starts = grow(this.starts, cap + 1);
    this.rows = grow(this.rows, cap);
    this.hashes = grow(this.hashes, cap);
  }

  private rehash(size: number): void {
    this.slots = new Int32Array(size).fill(EMPTY);
    for (let k = 0; k < this.used; k++) this.place(k, this.hashes[k]);
  }
}

function tableSize(keys: number): number {
  let n = 16;
  while (n < keys * 2) n *= 2;
  return n;
}

function grow<T extends Uint32Array | Int32Array>(a: T, n: number): T {
  const next = new (a.constructor as new (n: number) => T)(n);
  next.set(a);
  return next;
}
