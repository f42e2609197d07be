// A group version's table is what models trained on it saw: a run whose spec
// computes the same table otherwise — a window of 7d made 30d, a fn's body
// edited, another spec's group of that name with another `where` — is refused
// before it writes, naming what changed (runtime/features/group-definitions.ts,
// compiler/lower/group-definition.ts). The same definition written otherwise
// (`168h` for `7d`, comments, layout) is not a change; a table written before
// definitions were recorded takes the first one it sees.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { SpecBundle } from "../runtime/api.ts";
import { UserError } from "../runtime/errors.ts";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { materialize } from "../runtime/online/materialize.ts";
import { buildTrainingFrame } from "../runtime/retrieval/pit.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import { compileTempSpec, type TempSpec } from "./helpers/temp-spec.ts";

const CSV = ["ride_id,rider,at,km", ...Array.from({ length: 40 }, (_, i) => `r${i},${i % 3 === 0 ? "ann" : "bob"},2025-01-${String(1 + (i % 28)).padStart(2, "0")}T0${i % 10}:00:00Z,${1 + (i % 7)}`)].join("\n");

/** The spec with `window`, the body of fn `double`, the group's `where` and `version` as given. */
const spec = (o: { window?: string; body?: string; where?: string; version?: number; } = {}) => `source rides {
  path "rides.csv"
  event_time at
  unique ride_id
  fields {
    ride_id: string
    rider: string
    at: timestamp
    km: float check (> 0)
  }
}

entity rider {
  key rider: string
}

fn double(x: float): float = ${o.body ?? "x * 2"}
feature_group riding${o.version ? ` version ${o.version}` : ""} for rider from rides${o.where ? ` where ${o.where}` : ""} {
  km2 = double(km)
  km_7d = sum(km) over ${o.window ?? "7d"}
  rides_7d = count() over 7d
}
`;

const temps: TempSpec[] = [];
const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-groupdef-"));
afterAll(() => {
  temps.forEach((t) => t.cleanup());
  fs.rmSync(storeDir, { recursive: true, force: true });
});

async function bundleOf(text: string, name = "spec"): Promise<SpecBundle> {
  const t = await compileTempSpec({ [`${name}.fti`]: text, "rides.csv": CSV }, name);
  temps.push(t);
  return t.bundle;
}

async function withStore<T>(file: string, fn: (s: Store) => Promise<T>): Promise<T> {
  const store = await openStore({ path: path.join(storeDir, file) });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

const rowsOf = (s: Store, table: string) => s.all(`SELECT * EXCLUDE (ingested_at) FROM ${table} ORDER BY ALL`);

describe("a group table keeps the definition it was written under", () => {
  it("refuses a window, a fn body or another spec's `where` computed into the same version; the same definition spelt otherwise runs", async () => {
    await withStore("a.duckdb", async (store) => {
      await runFeaturePipeline(store, await bundleOf(spec()));
      const before = await rowsOf(store, "fg_riding_v1");
      expect(before.length).toBe(40);

      // `168h` is `7d`; a comment and a blank line change nothing.
      await runFeaturePipeline(store, await bundleOf(`// the same group\n\n${spec({ window: "168h" })}`));

      const refused = async (bundle: SpecBundle) => {
        const err = await runFeaturePipeline(store, bundle).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(UserError);
        expect((err as UserError).hint).toMatch(/bump its `version` in the spec \(to 2\)/);
        expect(await rowsOf(store, "fg_riding_v1")).toEqual(before);
        return (err as UserError).message;
      };
      expect(await refused(await bundleOf(spec({ window: "30d" })))).toMatch(
        /^feature group `riding` \(.*spec\.fti:18\) changed since fg_riding_v1 was written by spec spec \(`km_7d` is computed otherwise\): its rows would no longer be/,
      );
      expect(await refused(await bundleOf(spec({ body: "x * 3" })))).toContain("(`km2` is computed otherwise)");
      expect(await refused(await bundleOf(spec({ where: "km > 2" }), "other"))).toContain("written by spec spec (its keys, input, `where` or lookups differ)");

      // A new version is a new table; the old one stays as it was.
      const r = await runFeaturePipeline(store, await bundleOf(spec({ window: "30d", version: 2 })));
      expect(r.groups.map((g) => g.table)).toEqual(["fg_riding_v2"]);
      expect(await rowsOf(store, "fg_riding_v1")).toEqual(before);
    });
  });

  it("a spec edited after fti features is refused by what reads the table (training rows, materialize), not trained or served on the old values", async () => {
    // Only the feature pipeline compared definitions: `fti train` after a window edit trained on the old window's
    // values (and a stream computed the new ones online), materialize served them as the spec's features.
    const VIEW = "\nview rides_data for rider from rides {\n  label km = km\n  features riding.km_7d\n}\n";
    await withStore("d.duckdb", async (store) => {
      const same = await bundleOf(spec() + VIEW);
      await runFeaturePipeline(store, same);
      expect((await buildTrainingFrame(store, same, "rides_data")).n).toBe(40);
      const edited = await bundleOf(spec({ window: "30d" }) + VIEW);
      for (const read of [() => buildTrainingFrame(store, edited, "rides_data"), () => materialize(store, edited)]) {
        const err = await read().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(UserError);
        expect((err as UserError).message).toMatch(/^feature group `riding` \(.*spec\.fti:18\) changed since fg_riding_v1 was written by spec spec \(`km_7d` is computed otherwise\): its rows are not what the spec computes now$/);
        expect((err as UserError).hint).toMatch(/bump its `version` in the spec \(to 2\) and run `fti features .*spec\.fti`, or undo the edit/);
      }
      expect(await store.tableExists("online_riding_v1")).toBe(false); // materialize wrote nothing
      await materialize(store, same); // the spec as it was reads on
    });
  });

  it("a table written before definitions were recorded takes the first definition that writes it", async () => {
    await withStore("b.duckdb", async (store) => {
      const old = await bundleOf(spec());
      await runFeaturePipeline(store, { ...old, groups: old.groups.map(({ definition: _d, ...g }) => g) });
      await runFeaturePipeline(store, await bundleOf(spec({ window: "14d" })));
      const err = await runFeaturePipeline(store, await bundleOf(spec())).catch((e: unknown) => e);
      expect((err as Error).message).toContain("(`km_7d` is computed otherwise)");
    });
  });

  it("a recorded definition edited by hand or damaged is refused with what is wrong, not a TypeError (exit 3)", async () => {
    await withStore("c.duckdb", async (store) => {
      const b = await bundleOf(spec());
      await runFeaturePipeline(store, b);
      for (const [text, wrong] of [
        ["garbage", "it is not JSON"],
        ['{"__proto__": {"x": 1}}', "its `group` is not a hash"],
        ['{"group": "abc", "features": [1]}', "its `features` are not hashes by feature name"],
        ['{"group": "abc", "features": {"km_7d": "h1", "rides_28d": 2}}', "its `features` are not hashes by feature name (at features.rides_28d)"],
        ['{"group": 7, "features": {}}', "its `group` is not a hash"],
        ["null", "it is not an object"],
      ] as const) {
        await store.run("UPDATE fti_group_definitions SET definition = ? WHERE table_name = 'fg_riding_v1'", [text]);
        const err = await runFeaturePipeline(store, b).catch((e: unknown) => e);
        expect(err, text).toBeInstanceOf(UserError);
        expect((err as UserError).message).toBe(`the definition fti recorded for fg_riding_v1 (in fti_group_definitions) is damaged: ${wrong}`);
        expect((err as UserError).hint).toContain("DELETE FROM fti_group_definitions WHERE table_name = 'fg_riding_v1'");
      }
    });
  });
});
