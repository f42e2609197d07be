// The rows of a batch run whose request fields fail the spine source's
// `check`s: online serving answers them 400 (the request schema refines with
// the view's generated `checkRequest`); batch scoring calls the same
// generated function on every spine row and moves the rows it flags to the
// rejects (400, `invalid_request`, the failed checks and their fields), so
// they are never scored. Rows with a null or unconvertible field are already
// rejects (entity-spine.ts); as online (one 400 lists every failure), the
// checks of their other fields run too — never a check reading a field that
// failed — and add their reasons and fields to the same reject.

import type { ViewPlan } from "../api.ts";
import { type Store } from "../store/store.ts";
import { ident } from "../store/sql.ts";
import type { EntitySpine } from "../retrieval/entity-spine.ts";

/** Rows read and checked per slice (bounds the JS memory of the values read). */
const CHUNK = 65_536;

type Check = (r: Record<string, unknown>, failed?: ReadonlySet<string>) => Array<{ field: string; message: string }>;

/**
 * Moves the spine rows the view's request check flags into the spine's
 * invalid table and renumbers the rest (`__sid` stays 0..n-1); adds the
 * check failures of rows already refused to their rejects. Returns the
 * spine with its new counts.
 */
export async function rejectFailedChecks(store: Store, view: ViewPlan, spine: EntitySpine): Promise<EntitySpine> {
  const check = view.checkRequest;
  const fields = view.requestFields.map((f) => f.name);
  if (!check || fields.length === 0) return spine;
  const failed = `${spine.table}_failed`;
  await store.run(`DROP TABLE IF EXISTS ${ident(failed)}`);
  await store.run(`CREATE TEMP TABLE ${ident(failed)} (__row BIGINT, ord INTEGER, field VARCHAR, reason VARCHAR)`);
  try {
    if (spine.invalid.values) await addToRejects(store, spine, fields, check.bind(view), failed);
    if (spine.n === 0) return spine;
    const found = await checkRows(store, `SELECT __row, ${fields.map(ident).join(", ")} FROM ${ident(spine.table)}`, fields, check.bind(view), failed);
    if (found === 0) return spine;
    await store.run(
      `INSERT INTO ${ident(spine.invalid.table)} (__row, __t, status, code, reason, fields)
         SELECT f.__row, any_value(s.__t), 400, 'invalid_request', string_agg(f.reason, '; ' ORDER BY f.ord), list(f.field ORDER BY f.ord)
           FROM ${ident(failed)} AS f JOIN ${ident(spine.table)} AS s USING (__row) GROUP BY f.__row`,
    );
    // The spine without them, numbered again in input order.
    await store.run(
      `CREATE OR REPLACE TEMP TABLE ${ident(spine.table)} AS
         SELECT (row_number() OVER (ORDER BY __row) - 1)::BIGINT AS __sid, * EXCLUDE (__sid)
           FROM ${ident(spine.table)} WHERE __row NOT IN (SELECT __row FROM ${ident(failed)})`,
    );
    const rows = await countFailedRows(store, failed);
    return { ...spine, n: spine.n - rows, invalid: { ...spine.invalid, n: spine.invalid.n + rows } };
  } finally {
    await store.run(`DROP TABLE IF EXISTS ${ident(failed)}`);
  }
}

/**
 * The rows refused for a null or unconvertible field: the checks of their
 * other fields (each skipping a check that reads a failed one), appended to
 * the reject's reason and fields. Leaves `failed` empty for the spine's own.
 */
async function addToRejects(store: Store, spine: EntitySpine, fields: string[], check: Check, failed: string): Promise<void> {
  const sql = `SELECT v.__row, array_to_string(i.fields, ',') AS __failed, ${fields.map((f) => `v.${ident(f)}`).join(", ")}
                 FROM ${ident(spine.invalid.values!)} AS v JOIN ${ident(spine.invalid.table)} AS i USING (__row)`;
  if ((await checkRows(store, sql, fields, check, failed)) === 0) return;
  await store.run(
    `UPDATE ${ident(spine.invalid.table)} AS i SET reason = i.reason || '; ' || f.reason, fields = list_concat(i.fields, f.fields)
       FROM (SELECT __row, string_agg(reason, '; ' ORDER BY ord) AS reason, list(field ORDER BY ord) AS fields FROM ${ident(failed)} GROUP BY __row) AS f
      WHERE i.__row = f.__row`,
  );
  await store.run(`DELETE FROM ${ident(failed)}`);
}

/**
 * Runs the check over every row `sql` reads (values as online's zod schema
 * gives them: numbers, strings, Dates; a `__failed` column, when read, lists
 * the fields whose type failed), one unordered query as it streams, CHUNK
 * rows at a time (an issue names its row by __row, so the order does not
 * matter); the issues are appended at once after the read. Returns their number.
 */
async function checkRows(store: Store, sql: string, fields: string[], check: Check, failed: string): Promise<number> {
  const row: Record<string, unknown> = {};
  const found: unknown[][] = [];
  await store.readColumnsInSlices(sql, undefined, {}, CHUNK, (res) => {
    const rowNumbers = res.columns.__row;
    const failedFields = res.columns.__failed;
    for (let i = 0; i < res.n; i++) {
      for (const f of fields) row[f] = res.columns[f][i];
      const issues = failedFields ? check(row, new Set(String(failedFields[i]).split(","))) : check(row);
      issues.forEach((issue, ord) => found.push([rowNumbers[i], ord, issue.field, `\`${issue.field}\`: ${issue.message}`]));
    }
  });
  if (found.length > 0) await store.appendRows(failed, ["__row", "ord", "field", "reason"], found);
  return found.length;
}

async function countFailedRows(store: Store, failed: string): Promise<number> {
  const [c] = await store.all<{ n: number }>(`SELECT count(DISTINCT __row) AS n FROM ${ident(failed)}`);
  return Number(c.n);
}
