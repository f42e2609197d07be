// Which column of a source's files (or table) holds each declared field: the
// column of the same name in any case, else the one whose name in snake_case
// is the field's (`sale_price` reads `Sale Price`, `miles_per_gallon` reads
// `Miles per Gallon`): public data sets name columns for people, and a field
// is an identifier. ndjson keys are matched the same way (`Body Mass (g)` is
// `body_mass_g`), against every key the source's objects have. A field with
// `from "Entity"` reads that column (its exact name, else in any case) and no
// other: a column named like a keyword, or one the field is named apart from.

/** A column name in snake_case: letters and digits lower-cased, every other run of characters one `_`. */
export function snakeCase(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, "_")
    .replace(/^_+|_+$/g, "");
}

export interface FieldColumns {
  /** Field name → index of its column. */
  index: Map<string, number>;
  /** Fields no column holds. */
  missing: string[];
  /** Fields two or more columns hold by their snake_case names (and none by the field's own name). */
  ambiguous: Array<{ field: string; columns: string[] }>;
}

/** A declared field: its name, and the column its `from "..."` names, if any. */
export interface FieldName {
  name: string;
  column?: string;
}

export function matchFieldColumns(fields: readonly FieldName[], columns: readonly string[]): FieldColumns {
  const byName = new Map<string, number>();
  const bySnake = new Map<string, number[]>();
  columns.forEach((c, k) => {
    if (!byName.has(c.toLowerCase())) byName.set(c.toLowerCase(), k);
    const s = snakeCase(c);
    bySnake.set(s, [...(bySnake.get(s) ?? []), k]);
  });
  const out: FieldColumns = { index: new Map(), missing: [], ambiguous: [] };
  for (const { name: f, column } of fields) {
    if (column !== undefined) {
      const k = columns.indexOf(column);
      const named = k >= 0 ? k : byName.get(column.toLowerCase());
      if (named !== undefined) out.index.set(f, named);
      else out.missing.push(f);
      continue;
    }
    const exact = byName.get(f.toLowerCase());
    const snake = bySnake.get(snakeCase(f)) ?? [];
    if (exact !== undefined) out.index.set(f, exact);
    else if (snake.length === 1) out.index.set(f, snake[0]);
    else if (snake.length > 1) out.ambiguous.push({ field: f, columns: snake.map((k) => columns[k]) });
    else out.missing.push(f);
  }
  return out;
}
