// An extern fn an ODT calls runs at training and at serving from the user's
// own module, outside the generated (hashed) code: a model version is tied to
// that module's text too, and a version trained before it changed is refused.

import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkTransformsHash } from "../runtime/inference/predictor.ts";
import { UserError } from "../runtime/errors.ts";
import { transformsIdentity } from "../runtime/transforms-hash.ts";
import { ridesSpec } from "./helpers/rides-spec.ts";
import { compileTempSpec, type TempSpec } from "./helpers/temp-spec.ts";

const withOdt = (calls: string) =>
  ridesSpec("rides.csv") +
  `
extern fn bonus(km: float?): float? from "./bonus.ts"
fn doubled(km: float?): float? = 2 * bonus(km)

on_demand planned(request km: float): float? = ${calls}
`;

const temps: TempSpec[] = [];
afterAll(() => temps.forEach((t) => t.cleanup()));

async function compiled(calls: string): Promise<TempSpec> {
  const t = await compileTempSpec({ "spec.fti": withOdt(calls), "bonus.ts": "export function bonus(km: number | null) { return km === null ? null : km + 1; }\n", "rides.csv": "ride_id,rider,at,km\n" });
  temps.push(t);
  return t;
}

describe("extern fns that ODTs call", () => {
  it("are listed by the bundle, through other fns too; none listed when ODTs call no extern", async () => {
    const t = await compiled("doubled(km)");
    expect(t.bundle.odtExternFiles).toEqual([path.join(t.dir, "bonus.ts")]);
    const plain = await compiled("km * 2");
    expect(plain.bundle.odtExternFiles).toBeUndefined();
    expect(transformsIdentity(plain.bundle)).toBe(plain.bundle.transformsHash);
  });

  it("tie a model to the module's text: a version trained before the module changed is refused, naming it", async () => {
    const t = await compiled("bonus(km)");
    const record = { model: "m", version: 1, transforms_hash: transformsIdentity(t.bundle) };
    expect(record.transforms_hash.startsWith(`${t.bundle.transformsHash}+externs:sha256:`)).toBe(true);
    expect(() => checkTransformsHash(t.bundle, record)).not.toThrow();
    const file = path.join(t.dir, "bonus.ts");
    const before = fs.readFileSync(file, "utf8");
    fs.writeFileSync(file, before.replace("km + 1", "km + 2"));
    const err = (() => {
      try {
        checkTransformsHash(t.bundle, record);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toContain("an extern fn module its on_demand features call changed: bonus.ts");
    fs.writeFileSync(file, before);
    expect(() => checkTransformsHash(t.bundle, record)).not.toThrow();
  });
});
