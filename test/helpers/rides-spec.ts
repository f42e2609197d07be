// A small spec tests write data for: rides of riders, one source, one entity,
// one windowed group. Tests vary the path and the fields they exercise.

export const RIDE_FIELDS = ["ride_id: string", "rider: string", "at: timestamp", "km: float check (> 0)"];

/** The spec over `path`, with `fields` (one declaration each) and any source clauses in `clauses` (`stream lateness 1d`). */
export function ridesSpec(path: string, fields: readonly string[] = RIDE_FIELDS, clauses: readonly string[] = []): string {
  return `source rides {
  path "${path}"
${clauses.map((c) => `  ${c}\n`).join("")}  event_time at
  unique ride_id
  fields {
${fields.map((f) => `    ${f}`).join("\n")}
  }
}

entity rider {
  key rider: string
}

feature_group riding for rider from rides {
  km_7d = sum(km) over 7d
}
`;
}
