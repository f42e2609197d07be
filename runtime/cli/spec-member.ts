// The model (or view) a command works on when the user names none: a spec
// with exactly one is unambiguous (`fti train specs/flights.fti`), as dbt
// runs the only project there is. With several, naming one is the command's
// usage (exit 2) and the message lists them; with none, the spec lacks what
// the command needs (exit 1).

import type { SpecBundle } from "../api.ts";
import { UsageError, UserError } from "../errors.ts";

type Kind = "model" | "view";

/** `name` when given, else the spec's only model (or view). */
export function specMember(bundle: SpecBundle, kind: Kind, name: string | undefined): string {
  if (name !== undefined) return name;
  const names = (kind === "model" ? bundle.models : bundle.views).map((m) => m.name);
  if (names.length === 1) return names[0];
  if (names.length === 0) throw new UserError(`${bundle.file} declares no ${kind}`);
  throw new UsageError(`${bundle.file} declares ${names.length} ${kind}s: name one (${names.join(", ")})`);
}
