// A Parquet column of bytes (BYTE_ARRAY without the UTF8 annotation: how older
// writers store strings; DuckDB reads it as BLOB) is read as UTF-8 text: a
// string field gets the text, an int or a timestamp field the value the text
// spells; bytes that are not UTF-8 are quarantined as such. Before, the cast
// to VARCHAR stored DuckDB's escapes: `café` became `caf\xC3\xA9`, silently.

import { DuckDBInstance } from "@duckdb/node-api";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { openStore } from "../runtime/store/store.ts";
import { compileTempSpec, type TempSpec } from "./helpers/temp-spec.ts";

const SPEC = `source people {
  path "people.parquet"
  fields {
    id: int
    name: string
    born: timestamp?
  }
}
`;

const temps: TempSpec[] = [];
afterAll(() => temps.forEach((t) => t.cleanup()));

describe("a Parquet column of bytes", () => {
  it("is read as UTF-8 text into every field type; bytes that are not UTF-8 are quarantined with that reason", async () => {
    const t = await compileTempSpec({ "spec.fti": SPEC });
    temps.push(t);
    const db = await DuckDBInstance.create(":memory:");
    const c = await db.connect();
    await c.run(
      `COPY (SELECT * FROM (VALUES (encode('1'), encode('café'), encode('2024-02-03 04:05:06')),
                                   (encode('2'), encode('日本'), NULL),
                                   (encode('3'), '\\xFF\\x00z'::BLOB, NULL),
                                   (encode('4x'), encode('ok'), NULL)) v(id, name, born))
         TO '${path.join(t.dir, "people.parquet")}' (FORMAT parquet)`,
    );
    const types = await c.runAndReadAll(`SELECT column_type FROM (DESCRIBE SELECT * FROM '${path.join(t.dir, "people.parquet")}')`);
    expect(types.getRows().flat()).toEqual(["BLOB", "BLOB", "BLOB"]); // the file holds bytes, not strings
    c.closeSync();
    const store = await openStore({ path: ":memory:" });
    try {
      await runFeaturePipeline(store, t.bundle);
      const rows = await store.all<{ id: number; name: string; born: Date | null }>("SELECT id, name, born FROM src_people ORDER BY id");
      expect(rows.map((r) => [Number(r.id), r.name, r.born?.toISOString() ?? null])).toEqual([
        [1, "café", "2024-02-03T04:05:06.000Z"],
        [2, "日本", null],
      ]);
      const q = await store.all<{ row_number: number; reason: string }>("SELECT row_number, reason FROM fti_quarantine ORDER BY row_number");
      expect(q.map((r) => [Number(r.row_number), r.reason])).toEqual([
        [3, "name: '\\xFF\\x00z' is not UTF-8 text"],
        [4, "id: '4x' is not an int"],
      ]);
    } finally {
      await store.close();
    }
  });
});
