// A set of `unique` values, each with a time, kept OFF the JS heap: the values'
// characters in byte chunks (typed arrays, whose memory V8's garbage collector
// never marks or moves), found through an open-addressing hash index of typed
// arrays. Exact: a value is found only when its characters are equal (the hash
// only narrows the search), so no two values are ever taken for one another.
// Admission (admission.ts) holds the values of one lateness span in it: a
// `Map<string, number>` made three heap objects per event (the string, the
// boxed time, the entry), which every major GC of the stream server marked.
//
// Values are kept in insertion order in chunks of CHUNK entries; a chunk whose
// values all fell out of the lateness is dropped whole (its arrays reused for
// the next chunk): a sweep's work is one chunk's entries, not the whole set.

const CHUNK_BITS = 12;
const CHUNK = 1 << CHUNK_BITS;
/** The index grows (doubles) beyond this share of its slots in use. */
const MAX_LOAD = 0.6;
/** Encodings of a value's characters: one byte each (all below 256), or two (UTF-16). */
const ONE_BYTE = 0;
const TWO_BYTE = 1;

class Chunk {
  readonly times = new Float64Array(CHUNK);
  readonly hashes = new Int32Array(CHUNK);
  /** Entry i's bytes are [starts[i], starts[i + 1]); the first byte is its encoding. */
  readonly starts = new Uint32Array(CHUNK + 1);
  bytes = Buffer.allocUnsafeSlow(CHUNK * 32);
  count = 0;
  /** Entries not released or swept. */
  live = 0;
  maxTime = -Infinity;

  reset(): void {
    this.count = 0;
    this.live = 0;
    this.maxTime = -Infinity;
    this.starts[0] = 0;
  }

  /** Appends the value's characters (room made first); returns the entry's position. */
  push(key: string, oneByte: boolean, hash: number, t: number): number {
    const at = this.starts[this.count];
    const need = at + 1 + key.length * (oneByte ? 1 : 2);
    if (need > this.bytes.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(need, Math.ceil(this.bytes.length * 1.5)));
      this.bytes.copy(grown, 0, 0, at);
      this.bytes = grown;
    }
    const b = this.bytes;
    b[at] = oneByte ? ONE_BYTE : TWO_BYTE;
    if (oneByte) for (let j = 0; j < key.length; j++) b[at + 1 + j] = key.charCodeAt(j);
    else b.write(key, at + 1, "utf16le");
    const i = this.count++;
    this.starts[i + 1] = need;
    this.times[i] = t;
    this.hashes[i] = hash;
    this.live++;
    if (t > this.maxTime) this.maxTime = t;
    return i;
  }

  /** Whether entry i holds exactly `key`'s characters. */
  equals(i: number, key: string): boolean {
    const s = this.starts[i];
    const e = this.starts[i + 1];
    const b = this.bytes;
    if (b[s] === ONE_BYTE) {
      if (e - s - 1 !== key.length) return false;
      for (let j = 0; j < key.length; j++) if (b[s + 1 + j] !== key.charCodeAt(j)) return false;
      return true;
    }
    if (e - s - 1 !== key.length * 2) return false;
    for (let j = 0; j < key.length; j++) if ((b[s + 1 + 2 * j] | (b[s + 2 + 2 * j] << 8)) !== key.charCodeAt(j)) return false;
    return true;
  }

  key(i: number): string {
    const s = this.starts[i];
    return this.bytes.toString(this.bytes[s] === ONE_BYTE ? "latin1" : "utf16le", s + 1, this.starts[i + 1]);
  }
}

/** A per-process seed: values chosen to collide in one process's index do not in another's. */
const SEED = (Math.random() * 0x100000000) | 0;

/** Whether every character of the value last hashed fits in one byte (a module variable: no object per call). */
let lastOneByte = true;

/** The value's hash (32 bits, over its UTF-16 code units); sets `lastOneByte`. */
function hashOf(key: string): number {
  let h = SEED ^ key.length;
  let wide = 0;
  for (let j = 0; j < key.length; j++) {
    const c = key.charCodeAt(j);
    wide |= c;
    h = Math.imul(h ^ c, 0x5bd1e995);
    h ^= h >>> 15;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  lastOneByte = wide < 256;
  return h;
}

export class UniqueSet {
  /** Chunks by slot (an entry's id is slot × CHUNK + position); null: free. */
  private chunks: Array<Chunk | null> = [];
  private freeSlots: number[] = [];
  /** Emptied chunks, their arrays reused. */
  private spare: Chunk[] = [];
  /** Chunk slots, oldest first; the last takes new entries. */
  private order: number[] = [];
  /** The index: per slot, entry id + 1 (0: empty), and the entry's hash. */
  private ids = new Int32Array(1024);
  private slotHashes = new Int32Array(1024);
  private used = 0;

  /** Values held. */
  get size(): number {
    return this.used;
  }

  has(key: string): boolean {
    return this.find(key, hashOf(key)) >= 0;
  }

  /** Adds the value with its time; false (nothing changed) when it is already held. */
  add(key: string, t: number): boolean {
    const hash = hashOf(key);
    const oneByte = lastOneByte;
    if (this.find(key, hash) >= 0) return false;
    this.insert(key, oneByte, hash, t);
    return true;
  }

  delete(key: string): boolean {
    const slot = this.find(key, hashOf(key));
    if (slot < 0) return false;
    const id = this.ids[slot] - 1;
    const c = this.chunks[id >>> CHUNK_BITS]!;
    c.times[id & (CHUNK - 1)] = NaN;
    c.live--;
    this.unlink(slot);
    return true;
  }

  /**
   * Drops the chunks (at most `maxChunks`, oldest first) whose every value's
   * time is before `floor`. A value before the floor stays held until its
   * chunk goes (as its chunk's later values are within the floor): it is still
   * the value of an event that was stored, so it only answers "duplicate" a
   * while longer, never wrongly. The newest chunk stays.
   */
  sweep(floor: number, maxChunks = Infinity): void {
    const newest = this.order[this.order.length - 1];
    let dropped = 0;
    this.order = this.order.filter((slot) => {
      const c = this.chunks[slot]!;
      if (dropped >= maxChunks || slot === newest || !(c.maxTime < floor)) return true;
      this.dropChunk(slot, c);
      dropped++;
      return false;
    });
  }

  /** The values held now, oldest first, read later a few at a time (the set must not be swept meanwhile; values added later are not read). */
  cursor(): { next(max: number, floor: number): Array<[string, number]> } {
    const parts = this.order.map((slot) => ({ c: this.chunks[slot]!, n: this.chunks[slot]!.count }));
    let p = 0;
    let i = 0;
    return {
      next: (max, floor) => {
        const out: Array<[string, number]> = [];
        while (p < parts.length && out.length < max) {
          const { c, n } = parts[p];
          if (i >= n) {
            p++;
            i = 0;
            continue;
          }
          const t = c.times[i];
          if (t >= floor) out.push([c.key(i), t]);
          i++;
        }
        return out;
      },
    };
  }

  /** Bytes held off the JS heap (chunks and index). */
  get bytes(): number {
    let n = this.ids.byteLength * 2;
    for (const c of [...this.chunks, ...this.spare]) if (c) n += c.bytes.length + c.times.byteLength + c.hashes.byteLength + c.starts.byteLength;
    return n;
  }

  /** The index slot holding `key`, or -1. */
  private find(key: string, hash: number): number {
    const mask = this.ids.length - 1;
    for (let s = hash & mask; ; s = (s + 1) & mask) {
      const id1 = this.ids[s];
      if (id1 === 0) return -1;
      if (this.slotHashes[s] !== hash) continue;
      const id = id1 - 1;
      const c = this.chunks[id >>> CHUNK_BITS]!;
      if (c.equals(id & (CHUNK - 1), key)) return s;
    }
  }

  private insert(key: string, oneByte: boolean, hash: number, t: number): void {
    if (this.used + 1 > this.ids.length * MAX_LOAD) this.grow();
    let slot = this.order[this.order.length - 1];
    let c = slot === undefined ? null : this.chunks[slot]!;
    if (!c || c.count === CHUNK) {
      c = this.spare.pop() ?? new Chunk();
      c.reset();
      slot = this.freeSlots.pop() ?? this.chunks.length;
      this.chunks[slot] = c;
      this.order.push(slot);
    }
    const id = slot! * CHUNK + c.push(key, oneByte, hash, t);
    const mask = this.ids.length - 1;
    let s = hash & mask;
    while (this.ids[s] !== 0) s = (s + 1) & mask;
    this.ids[s] = id + 1;
    this.slotHashes[s] = hash;
    this.used++;
  }

  /** Takes every entry of a chunk out of the index and frees it. */
  private dropChunk(slot: number, c: Chunk): void {
    for (let i = 0; i < c.count; i++) {
      if (Number.isNaN(c.times[i])) continue; // released: not in the index
      this.unlink(this.slotOf(slot * CHUNK + i, c.hashes[i]));
    }
    this.chunks[slot] = null;
    this.freeSlots.push(slot);
    c.reset();
    // Only what the newest chunk can need again is kept: at most a couple of spare chunks' arrays.
    if (this.spare.length < 2) this.spare.push(c);
  }

  private slotOf(id: number, hash: number): number {
    const mask = this.ids.length - 1;
    for (let s = hash & mask; ; s = (s + 1) & mask) if (this.ids[s] === id + 1) return s;
  }

  /** Empties an index slot, moving later entries of its probe run back (linear probing without tombstones). */
  private unlink(slot: number): void {
    const mask = this.ids.length - 1;
    let hole = slot;
    for (let j = (slot + 1) & mask; this.ids[j] !== 0; j = (j + 1) & mask) {
      const home = this.slotHashes[j] & mask;
      // The entry at j may fill the hole unless its home lies cyclically in (hole, j].
      const inRun = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (inRun) continue;
      this.ids[hole] = this.ids[j];
      this.slotHashes[hole] = this.slotHashes[j];
      hole = j;
    }
    this.ids[hole] = 0;
    this.used--;
  }

  private grow(): void {
    const oldIds = this.ids;
    const oldHashes = this.slotHashes;
    this.ids = new Int32Array(oldIds.length * 2);
    this.slotHashes = new Int32Array(oldIds.length * 2);
    const mask = this.ids.length - 1;
    for (let j = 0; j < oldIds.length; j++) {
      if (oldIds[j] === 0) continue;
      let s = oldHashes[j] & mask;
      while (this.ids[s] !== 0) s = (s + 1) & mask;
      this.ids[s] = oldIds[j];
      this.slotHashes[s] = oldHashes[j];
    }
  }
}
