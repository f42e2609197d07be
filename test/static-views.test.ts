// Views over rows without time (a spine source without event_time): what the
// checker accepts and refuses beyond the fixtures, what a row is joined
// with — the reference data that holds when the table was read — and the
// language server's hover of such a view.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compileSpec } from "../compiler/compile.ts";
import { analyze } from "../compiler/lsp/analysis.ts";
import { hover } from "../compiler/lsp/hover.ts";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { columnValues } from "../runtime/retrieval/columns.ts";
import { buildTrainingFrame } from "../runtime/retrieval/pit.ts";
import { storeUser } from "./helpers/store-user.ts";
import { compileTempSpec } from "./helpers/temp-spec.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-static-views-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const BASE = `
source users {
  path "users.csv"
  unique user_id
  fields { user_id: string  country: string  tenure_d: int  churned: bool }
}
source plans {
  path "plans.csv"
  valid_from starts
  valid_to ends
  fields { user_id: string  starts: timestamp  ends: timestamp?  price: float }
}
source rates {
  path "rates.csv"
  fields { eur_per_usd: float }
}
entity user { key user_id: string }
feature_group plan for user from plans { plan_price = price }
feature_group fx from rates { eur = eur_per_usd }
feature_group profile for user from users {
  days = tenure_d
  gone = churned
}
on_demand where_from(request country: string): string = country
`;

async function diagnostics(name: string, body: string): Promise<string[]> {
  const file = path.join(dir, `${name}.fti`);
  fs.writeFileSync(file, BASE + body);
  const r = await compileSpec(file, { outDir: path.join(dir, "out", name), checkOnly: true });
  return r.diagnostics.map((d) => `FTI${d.code}: ${d.message}`);
}

describe("the checker on views over rows without time", () => {
  it("accepts a keyed view: the table's own rows by its unique key, another reference table by key, a global one, and request fields", async () => {
    const d = await diagnostics("ok", `
view churn_data for user from users {
  label churned = churned
  features profile.days, plan.*, fx.*, where_from
}
model churn {
  view churn_data
  task binary_classification
  algorithm gbdt(trees: 10)
  transform where_from: one_hot
}`);
    expect(d).toEqual([]);
  });

  it("refuses a request field that gives the label (FTI4009), and a feature of the row's own label (FTI4008)", async () => {
    const d = await diagnostics("leaks", `
on_demand was_gone(request churned: bool): bool = churned
view churn_data for user from users {
  label churned = churned
  features profile.*, was_gone
}`);
    expect(d.map((m) => m.slice(0, 7)).sort()).toEqual(["FTI4008", "FTI4009"]);
    expect(d.find((m) => m.startsWith("FTI4008"))).toContain("feature `gone` is derived from `users.churned`");
  });

  it("does not warn of reference data without valid_from (FTI4030): the rows and the reference data are of one instant", async () => {
    const d = await diagnostics("no-warning", `
source visits_ref {
  path "profiles.csv"
  fields { user_id: string  city: string }
}
feature_group home for user from visits_ref { town = city }
view churn_data for user from users {
  label churned = churned
  features home.*
}
source logins {
  path "logins.csv"
  event_time at
  fields { user_id: string  at: timestamp  failed: bool }
}
view login_data for user from logins {
  label failed = failed
  features home.*
}`);
    // The same group in a view of events (rows labelled at their own times) is warned of.
    expect(d.filter((m) => !m.startsWith("FTI2008"))).toEqual([
      "FTI4030: `town` of view `login_data` comes from reference source `visits_ref`, which has no `valid_from`: every training row sees today's value, also rows labelled before it last changed",
    ]);
  });
});

describe("the row's own columns as inputs (`features SOURCE.column`, `SOURCE.*`)", () => {
  const irOf = async (name: string, body: string) => {
    const file = path.join(dir, `${name}.fti`);
    fs.writeFileSync(file, BASE + body);
    const r = await compileSpec(file, { outDir: path.join(dir, "out", name), checkOnly: true });
    expect(r.diagnostics.filter((d) => d.severity === "error").map((d) => d.message)).toEqual([]);
    return r.ir!;
  };

  it("`*` is every column but the label's, the entity's and timestamps; each an input under its own name", async () => {
    const ir = await irOf("star", `
view churn_data for user from users {
  label churned = churned
  features users.*
}`);
    expect(ir.views[0].odts).toEqual(["country", "tenure_d"]);
    expect(ir.views[0].requestFields.map((f) => f.name)).toEqual(["country", "tenure_d"]);
    expect(ir.onDemand.find((o) => o.name === "tenure_d")).toMatchObject({ requestParams: [{ name: "tenure_d" }], body: { k: "param", name: "tenure_d" } });
  });

  it("`*` leaves out a one-field `unique` (a row id, not an input: breast_cancer's `patient_id` was one), which may still be named", async () => {
    const ir = await irOf("star-row-id", `
view churn_data from users {
  label churned = churned
  features users.*
}
view churn_by_id from users {
  label churned = churned
  features users.*, users.user_id
}`);
    expect(ir.views.map((v) => v.odts)).toEqual([
      ["country", "tenure_d"],
      ["country", "tenure_d", "user_id"],
    ]);
  });

  it("`*` keeps the columns of a `unique (a, b)` combination: each alone repeats", async () => {
    const file = path.join(dir, "star-combination.fti");
    fs.writeFileSync(
      file,
      BASE.replace("unique user_id", "unique (user_id, country)") +
        `
view churn_data from users {
  label churned = churned
  features users.*
}
model churn {
  view churn_data
  task binary_classification
  algorithm gbdt(trees: 10)
  transform user_id, country: one_hot
}`,
    );
    const r = await compileSpec(file, { outDir: path.join(dir, "out", "star-combination"), checkOnly: true });
    expect(r.diagnostics.filter((d) => d.severity === "error").map((d) => d.message)).toEqual([]);
    expect(r.ir!.views[0].odts).toEqual(["user_id", "country", "tenure_d"]);
  });

  it("the label's column is refused (FTI4009), and a column listed twice (FTI2007)", async () => {
    const d = await diagnostics("row-leak", `
view churn_data for user from users {
  label churned = churned
  features users.churned, users.country, users.country
}`);
    expect(d.filter((m) => !m.startsWith("FTI2008")).map((m) => m.slice(0, 7)).sort()).toEqual(["FTI2007", "FTI4009"]);
  });

  it("a view over events may name its columns one by one, and two views share one input per column", async () => {
    const ir = await irOf("events", `
source logins {
  path "logins.csv"
  event_time at
  fields { user_id: string  at: timestamp  device: string  failed: bool }
}
view login_data for user from logins {
  label failed = failed
  features logins.device
}
view login_data_2 for user from logins {
  label failed = failed
  features logins.device, profile.days
}`);
    expect(ir.views.map((v) => v.odts)).toEqual([["device"], ["device"]]);
    expect(ir.onDemand.filter((o) => o.name === "device")).toHaveLength(1);
  });
});

describe("rows without time at the runtime", () => {
  it("each row reads the reference data that holds when the table was read: not a plan yet to start, not one that ended", async () => {
    const spec = `${BASE}
view churn_data for user from users {
  label churned = churned
  features plan.*, fx.*, where_from
}
`;
    const temp = await compileTempSpec({
      "spec.fti": spec,
      "users.csv": "user_id,country,tenure_d,churned\nu1,FR,10,false\nu2,DE,20,true\nu3,FR,30,false\nu4,IT,40,true\n",
      // u1: a plan that holds, and one that starts in 2999; u2: a plan that ended; u3: none; u4: one that ends in 2999.
      "plans.csv": "user_id,starts,ends,price\nu1,2020-01-01,,10\nu1,2999-01-01,,20\nu2,2020-01-01,2021-01-01,5\nu4,2020-01-01,2999-01-01,7\n",
      "rates.csv": "eur_per_usd\n0.9\n",
    });
    const withStore = storeUser(() => path.join(temp.dir, "store.duckdb"));
    try {
      const frame = await withStore(async (store) => {
        await runFeaturePipeline(store, temp.bundle);
        return buildTrainingFrame(store, temp.bundle, "churn_data");
      });
      const users = frame.keys.user_id as string[];
      const byUser = (col: string) => Object.fromEntries(users.map((u, i) => [u, columnValues(frame.columns[col])[i]]));
      expect(byUser("plan_price")).toEqual({ u1: 10, u2: null, u3: null, u4: 7 });
      expect(byUser("eur")).toEqual({ u1: 0.9, u2: 0.9, u3: 0.9, u4: 0.9 });
      expect(byUser("where_from")).toEqual({ u1: "FR", u2: "DE", u3: "FR", u4: "IT" });
      expect(Object.fromEntries(users.map((u, i) => [u, frame.label[i]]))).toEqual({ u1: 0, u2: 1, u3: 0, u4: 1 });
    } finally {
      temp.cleanup();
    }
  }, 60_000);
});

describe("the language server on a view over rows without time", () => {
  it("hovers the view with what its rows are joined as of, where a timed view shows its as_of", () => {
    const text = fs.readFileSync("specs/penguins.fti", "utf8");
    const a = analyze(text, path.resolve("specs/penguins.fti"), path.resolve("specs"));
    const h = hover(a, text.indexOf("view mass_data") + "view ".length);
    const value = h && typeof h.contents === "object" && "value" in h.contents ? h.contents.value : "";
    expect(value).toContain("0 features, 6 ODTs, rows without time (joined with the reference data of when the table was read)");
    const seattle = fs.readFileSync("specs/seattle.fti", "utf8");
    const s = analyze(seattle, path.resolve("specs/seattle.fti"), path.resolve("specs"));
    const sh = hover(s, seattle.indexOf("view forecast_data") + "view ".length);
    expect(sh && typeof sh.contents === "object" && "value" in sh.contents ? sh.contents.value : "").toContain("ODTs, as_of strict, ttl 3d");
  });
});
