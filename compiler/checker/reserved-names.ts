// Names every JavaScript object already has (`constructor`, `toString`,
// `__proto__`, ...) cannot be declared: the generated TypeScript and the
// runtime key objects by feature, field and declaration names, and such a
// name reads the inherited member instead (a feature `constructor` makes the
// generated code fail to type-check; a feature `__proto__` sets an object's
// prototype and fails training). Nor can names starting with `__fti`, the
// prefix of the columns fti adds to its own queries (a feature `__fti_t`
// clashed with the spine's time column in training). One pass over the
// names a spec declares.

import type { Decl, Ident } from "../ast.ts";
import { DIAG } from "../messages.ts";
import type { Ctx } from "./context.ts";

const RESERVED = new Set(Object.getOwnPropertyNames(Object.prototype));

/** The prefix of the columns fti adds to its own queries (`__fti_t`, `__fti_file`, ...): a feature of that name would clash. */
const INTERNAL_PREFIX = "__fti";

/** Reports every declared name that is a member of Object.prototype or starts with `__fti`. */
export function checkReservedNames(ctx: Ctx, decls: readonly Decl[]): void {
  const check = (id: Ident | undefined, what: string) => {
    if (!id) return;
    if (RESERVED.has(id.name)) ctx.report(id.range, DIAG.reservedName.objectMember(id.name, what));
    else if (id.name.startsWith(INTERNAL_PREFIX)) ctx.report(id.range, DIAG.internalName.prefix(id.name, what, INTERNAL_PREFIX));
  };
  for (const d of decls) {
    if (d.kind !== "serve") check(d.name, KIND_LABELS[d.kind]);
    switch (d.kind) {
      case "source":
        for (const f of d.fields) check(f.name, "field");
        break;
      case "entity":
        for (const k of d.keys) check(k.name, "key");
        break;
      case "feature_group":
        for (const f of d.features) check(f.name, "feature");
        break;
      case "on_demand":
        for (const p of d.params) if (p.kind === "request") check(p.name, "request field");
        break;
      case "view":
        check(d.label?.name, "label");
        break;
    }
  }
}

const KIND_LABELS: Record<Exclude<Decl["kind"], "serve">, string> = {
  source: "source",
  entity: "entity",
  fn: "fn",
  extern_fn: "extern fn",
  feature_group: "feature group",
  on_demand: "on_demand transformation",
  view: "view",
  model: "model",
  index: "index",
  agent: "agent",
};
