// DuckDB's memory_limit lowered for a while: lowering it makes DuckDB evict
// what its buffer pool holds past the new limit (temp tables go to its temp
// directory) and give the memory back, so a caller can fill large JS arrays
// without DuckDB's pool on top of them.

import { byteSize } from "./byte-size.ts";
import { sqlString } from "./sql.ts";
import type { Store } from "./store.ts";

/**
 * Sets the lowered limit again: DuckDB hands back to the OS what its
 * allocator kept of the memory freed since (setting memory_limit flushes the
 * allocator); the limit stays. A no-op when the limit was not lowered.
 */
export type ReapplyLimit = () => Promise<void>;

/**
 * Runs `fn` with the memory_limit lowered to `limit` when the current one is
 * higher, and sets back the store's own after (the limit it was opened with,
 * else DuckDB's default), also when `fn` or the SET fails. The limit is the
 * instance's: call it while holding the store (inside its transaction).
 * `keep`: a caller that closes the store right after leaves the lowered limit
 * when `fn` succeeds — setting it back flushes DuckDB's allocator (~0.1 s for
 * the ~700 MB a 3 M-row export freed), memory the close gives back anyway.
 */
export async function withLowerMemoryLimit<T>(store: Store, limit: string, fn: (reapply: ReapplyLimit) => Promise<T>, opts: { keep?: boolean } = {}): Promise<T> {
  const wanted = byteSize(limit);
  if (wanted === null || wanted <= 0) throw new Error(`memory limit \`${limit}\` is not a size`);
  const [cur] = await store.all<{ now: string }>(`SELECT current_setting('memory_limit') AS now`);
  const now = byteSize(cur.now);
  if (now !== null && now <= wanted) return fn(async () => {});
  const restore = () => store.run(store.memoryLimit ? `SET memory_limit = ${sqlString(store.memoryLimit)}` : `RESET memory_limit`);
  let result: T;
  try {
    // Inside the try: a SET that fails (DuckDB cannot free enough) may still have lowered the limit.
    const lower = async () => {
      await store.run(`SET memory_limit = ${sqlString(limit)}`);
    };
    await lower();
    result = await fn(lower);
  } catch (e) {
    await restore().catch(() => {});
    throw e;
  }
  if (!opts.keep) await restore();
  return result;
}
