// The JSON columns of a registry row, checked as they are read: fti writes
// them, but `fti_models` is a table anyone with the store can edit, and a
// `lineage` of another shape was a TypeError deep in `fti models show` (an
// internal error, exit 3) instead of a message naming the row and column.

import { z } from "zod";
import { UserError } from "../errors.ts";
import { pathText } from "../path-text.ts";

const numbers = z.record(z.string(), z.number().nullable());

/** What each JSON column must hold (extra fields are let through: older and newer rows), and the version (1, 2, … as registerModel numbers them). */
const SHAPES = {
  version: z.number().int().positive(),
  metrics: numbers.nullable(),
  baseline: numbers.nullable(),
  lineage: z.looseObject({
    specFile: z.string(),
    view: z.string(),
    featureTables: z.array(z.looseObject({ table: z.string() })),
    trainingRange: z.looseObject({ from: z.string().nullable(), to: z.string().nullable() }),
    rows: z.looseObject({ train: z.number(), test: z.number() }),
  }),
  gates: z.array(z.looseObject({ metric: z.string() })).nullable(),
} as const;

/** `value` (parsed from column `column` of version `version` of `model`), or a UserError saying where it differs. */
export function checkedColumn<T>(model: string, version: number, column: keyof typeof SHAPES, value: unknown): T {
  const r = SHAPES[column].safeParse(value);
  if (r.success) return value as T;
  const issue = r.error.issues[0];
  const at = pathText([column, ...issue.path]);
  throw new UserError(
    `model \`${model}\` version ${version}: its registry row is not what fti writes: ${at}: ${issue.message} (was the table fti_models edited?)`,
    "restore the row, or train a new version (`fti train`) and promote it",
  );
}
