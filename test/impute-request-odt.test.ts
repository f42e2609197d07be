// "The model can impute" (an unknown entity gets a prediction, not a 422)
// asks `impute` of the inputs a missing entity can leave null: the stored
// features and the ODTs that read them. An ODT over request fields alone is
// computed from the request whatever the store holds, so it needs no
// `impute` (a new user's flights model imputed every feature and still got
// 422 for a new airport because of its request-only `month` input).

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { materialize } from "../runtime/online/materialize.ts";
import { openLocalService } from "../runtime/online/public.ts";
import type { ApiErrorBody, OnlinePrediction } from "../runtime/online/types.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import { trainModelFromSpec } from "../runtime/training/train.ts";
import { ridesSpec, ridesWithClimbCsv } from "./helpers/rides-spec.ts";
import { compileTempSpec, type TempSpec } from "./helpers/temp-spec.ts";

const model = (name: string, view: string, algorithm: string, transforms: string[]) => `
model ${name} {
  view ${view}
  task regression
  algorithm ${algorithm}
${transforms.map((t) => `  transform ${t}\n`).join("")}  split random(test_fraction: 0.25, seed: 1)
}
serve ${name} {
  online
}
`;

const SPEC =
  ridesSpec("rides.csv", ["ride_id: string", "rider: string", "at: timestamp", "km: float check (> 0)", "climb: float"]) +
  `
on_demand steep(request climb: float): float = climb * 3
on_demand per_km(request climb: float, riding.km_7d): float = climb / km_7d

view by_request for rider from rides {
  label km = km
  features riding.km_7d, steep
}
view by_feature for rider from rides {
  label km = km
  features riding.km_7d, per_km
}
` +
  // request_only imputes its feature; its ODT reads the request alone.
  model("request_only", "by_request", "linear", ["km_7d: impute(mean), standard_scale"]) +
  // reads_feature imputes the feature but not the ODT over it (gbdt takes a null input): a missing rider leaves per_km null.
  model("reads_feature", "by_feature", "gbdt(trees: 5, depth: 2)", ["km_7d: impute(mean), standard_scale"]);


let temp: TempSpec;
const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-impute-odt-"));
const storePath = path.join(storeDir, "store.duckdb");

afterAll(() => {
  temp?.cleanup();
  fs.rmSync(storeDir, { recursive: true, force: true });
});

beforeAll(async () => {
  temp = await compileTempSpec({ "spec.fti": SPEC, "rides.csv": ridesWithClimbCsv(90, 5) });
  const store: Store = await openStore({ path: storePath });
  try {
    await runFeaturePipeline(store, temp.bundle);
    for (const m of ["request_only", "reads_feature"]) await trainModelFromSpec(store, temp.bundle, m);
    await materialize(store, temp.bundle);
  } finally {
    await store.close();
  }
}, 240_000);

describe("an unknown entity and an ODT over request fields", () => {
  it("the plan says which models can impute", () => {
    const canImpute = Object.fromEntries(temp.bundle.models.map((m) => [m.name, m.canImpute]));
    expect(canImpute).toEqual({ request_only: true, reads_feature: false });
  });

  it("a model whose only unimputed input is a request-only ODT predicts for an unknown rider; one whose ODT reads a feature is a 422", async () => {
    const svc = await openLocalService(temp.bundle, { store: storePath, logs: false });
    try {
      const known = await svc.predict("request_only", { rider: "u1", climb: 120 });
      expect(known.status).toBe(200);
      const unknown = await svc.predict("request_only", { rider: "nobody", climb: 120 });
      expect(unknown.status).toBe(200);
      const body = unknown.body as OnlinePrediction;
      expect(body.features.km_7d).toEqual({ value: null, status: "not_found" });
      expect(Number.isFinite(body.prediction)).toBe(true);

      const refused = await svc.predict("reads_feature", { rider: "nobody", climb: 120 });
      expect(refused.status).toBe(422);
      expect((refused.body as ApiErrorBody).error.code).toBe("missing_features");
      expect((await svc.predict("reads_feature", { rider: "u1", climb: 120 })).status).toBe(200);
    } finally {
      await svc.close();
    }
  });
});
