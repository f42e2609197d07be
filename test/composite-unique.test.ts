// `unique (a, b)`: a combination of fields identifies a row (a price per
// symbol and day). A repeated combination is quarantined, naming its values
// and its first row; rows that share one part of it are kept; the groups carry
// no row id (a row id is one column), and windows still count every kept row.

import { afterEach, describe, expect, it } from "vitest";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import { compileTempSpec, type TempSpec } from "./helpers/temp-spec.ts";

const SPEC = `
source prices {
  path "prices.csv"
  event_time day
  unique (symbol, day)
  fields {
    symbol: string
    day: timestamp
    price: float check (> 0)
  }
}

entity stock {
  key symbol: string
}

feature_group momentum for stock from prices {
  days_3d = count() over 3d
  high_3d = max(price) over 3d
}
`;

const CSV = [
  "symbol,day,price",
  "MSFT,2025-01-01,10", // row 1
  "IBM,2025-01-01,20", //  row 2: same day, another symbol
  "MSFT,2025-01-02,11", // row 3: same symbol, another day
  "MSFT,2025-01-01,99", // row 4: (MSFT, 2025-01-01) again
  "IBM,2025-01-01,21", //  row 5: (IBM, 2025-01-01) again
  "IBM,2025-01-02,-1", //  row 6: fails its check (it is not a duplicate of anything)
  "IBM,2025-01-02,22", //  row 7: the first valid (IBM, 2025-01-02)
  ",2025-01-03,5", //      row 8: a missing part of the key
].join("\n");

let spec: TempSpec | undefined;
let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  spec?.cleanup();
  store = undefined;
  spec = undefined;
});

describe("unique (a, b)", () => {
  it("quarantines a repeated combination only, the first valid row wins, and the windows see each kept row once", async () => {
    spec = await compileTempSpec({ "spec.fti": SPEC, "prices.csv": CSV });
    expect(spec.bundle.sources[0].unique).toEqual(["symbol", "day"]);
    expect(spec.bundle.groups[0].rowId).toBeUndefined();
    store = await openStore({ path: ":memory:" });
    const report = await runFeaturePipeline(store, spec.bundle);
    expect(report.sources[0]).toMatchObject({ read: 8, valid: 4, quarantined: 4 });

    const q = await store.all<{ row_number: number; reason: string; reason_kind: string }>(
      "SELECT row_number, reason, reason_kind FROM fti_quarantine ORDER BY row_number",
    );
    expect(q.map((r) => [r.row_number, r.reason])).toEqual([
      [4, "(symbol, day): duplicate value ('MSFT', 2025-01-01) (first at row 1)"],
      [5, "(symbol, day): duplicate value ('IBM', 2025-01-01) (first at row 2)"],
      [6, "price: -1 fails check (> 0)"],
      [8, "symbol: missing value (not nullable)"],
    ]);
    expect(q[0].reason_kind).toBe("(symbol, day): duplicate value");

    const kept = await store.all<{ symbol: string; price: number }>("SELECT symbol, price FROM src_prices ORDER BY day, symbol DESC");
    expect(kept.map((r) => `${r.symbol}:${r.price}`)).toEqual(["MSFT:10", "IBM:20", "MSFT:11", "IBM:22"]);

    const rows = await store.all<{ symbol: string; days_3d: number; high_3d: number }>(
      "SELECT symbol, days_3d, high_3d FROM fg_momentum_v1 ORDER BY symbol, event_time",
    );
    expect(rows.map((r) => `${r.symbol}:${r.days_3d}:${r.high_3d}`)).toEqual(["IBM:1:20", "IBM:2:22", "MSFT:1:10", "MSFT:2:11"]);
  });
});
