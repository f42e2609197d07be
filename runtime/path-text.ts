// How a message names a place inside a JSON value (a registry column, a group
// definition, fitted state): at the runtime's root so every folder can say it
// the same way without importing another folder's module.

/** A zod issue's path as a message shows it: `lineage.featureTables[0].table`. */
export function pathText(path: ReadonlyArray<PropertyKey>): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i ? "." : ""}${String(p)}`)).join("");
}
