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

/** `n` rides of `riders` riders (u0, u1, …), a day apart within each month from 2026-01-01, with km and climb: the CSV of ridesSpec's fields plus `climb: float`. */
export function ridesWithClimbCsv(n: number, riders: number): string {
  const lines = ["ride_id,rider,at,km,climb"];
  for (let i = 0; i < n; i++) {
    const day = String(1 + (i % 28)).padStart(2, "0");
    const month = String(1 + Math.floor(i / 28)).padStart(2, "0");
    lines.push(`r${i},u${i % riders},2026-${month}-${day}T08:00:00Z,${(5 + ((i * 7) % 13) + (i % riders)).toFixed(1)},${(i * 37) % 400}`);
  }
  return lines.join("\n") + "\n";
}
