// A `withStore` for tests: opens the DuckDB store at the path (read when
// called, so a path set in beforeAll works), runs `fn`, closes it.

import { openStore, type Store } from "../../runtime/store/store.ts";

export function storeUser(path: () => string): <T>(fn: (store: Store) => Promise<T>) => Promise<T> {
  return async (fn) => {
    const store = await openStore({ path: path() });
    try {
      return await fn(store);
    } finally {
      await store.close();
    }
  };
}
