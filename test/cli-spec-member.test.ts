// `fti train|predict|register|monitor|verify <spec> [model]` and
// `fti training-data <spec> [view]`: a spec with one model (view) needs no
// name; with several, naming one is usage (exit 2) and the message lists them.

import { describe, expect, it } from "vitest";
import type { SpecBundle } from "../runtime/api.ts";
import { specMember } from "../runtime/cli/spec-member.ts";
import { UsageError, UserError } from "../runtime/errors.ts";

const bundle = (models: string[], views: string[]) =>
  ({ file: "specs/x.fti", models: models.map((name) => ({ name })), views: views.map((name) => ({ name })) }) as unknown as SpecBundle;

const thrown = (f: () => unknown): unknown => {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected an error");
};

describe("the model or view a command works on", () => {
  it("is the named one when given, even with one in the spec (an unknown name is the command's error)", () => {
    expect(specMember(bundle(["a"], ["v"]), "model", "b")).toBe("b");
    expect(specMember(bundle(["a", "b"], ["v"]), "model", "a")).toBe("a");
  });

  it("is the spec's only one when none is named", () => {
    expect(specMember(bundle(["late_departure"], ["v", "w"]), "model", undefined)).toBe("late_departure");
    expect(specMember(bundle(["a", "b"], ["delay_data"]), "view", undefined)).toBe("delay_data");
  });

  it("must be named when the spec has several: a usage error listing them", () => {
    const e = thrown(() => specMember(bundle(["time_estimator", "route_pace"], []), "model", undefined));
    expect(e).toBeInstanceOf(UsageError);
    expect((e as Error).message).toBe("specs/x.fti declares 2 models: name one (time_estimator, route_pace)");
  });

  it("is a user error when the spec has none", () => {
    const e = thrown(() => specMember(bundle([], []), "view", undefined));
    expect(e).toBeInstanceOf(UserError);
    expect((e as Error).message).toBe("specs/x.fti declares no view");
  });
});
