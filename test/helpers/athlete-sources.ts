// The data of every source specs/athlete.fti declares, written where the spec
// reads it: tests that copy the athlete spec into a temp project call this
// instead of writing each file by hand (they broke each time a source was
// added). The list comes from the spec itself; a source without a writer
// below fails here, naming the source, instead of somewhere downstream.

import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parse } from "../../compiler/parser/index.ts";
import type { SourceDecl } from "../../compiler/ast.ts";
import { writeAthleteCsv, writeAthleteProfilesCsv } from "../../specs/athlete.data.ts";
import { writeCoachNotes } from "../../specs/athlete.notes.ts";

const SPEC = join(import.meta.dirname, "..", "..", "specs", "athlete.fti");

export interface AthleteDataSize {
  athletes: number;
  days: number;
  seed: number;
  /** The first day (YYYY-MM-DD); the generator's default when not given. */
  start?: string;
}

/** How to write one source's file; `paths` holds the files already written, by source name. */
type Writer = (file: string, size: AthleteDataSize, paths: Map<string, string>) => Promise<unknown> | unknown;

/** One writer per athlete source, in the order they must run (coach notes are derived from the activities). */
const WRITERS: Array<[source: string, write: Writer]> = [
  ["activities", (file, size) => writeAthleteCsv({ ...size, path: file })],
  ["profiles", (file, size) => writeAthleteProfilesCsv({ ...size, path: file })],
  ["coach_notes", (file, size, paths) => writeCoachNotes(paths.get("activities")!, file, size.seed)],
];

/** The athlete spec's file sources: name → path as written (relative to the spec). */
export function athleteSourcePaths(specText = readFileSync(SPEC, "utf8")): Map<string, string> {
  const out = new Map<string, string>();
  for (const d of parse(specText, SPEC).program.decls) {
    if (d.kind !== "source") continue;
    const location: SourceDecl["location"] = d.location;
    if (location?.kind === "path") out.set(d.name.name, location.path.value);
  }
  return out;
}

/**
 * Writes every source of the athlete spec, relative to `specDir` (the folder
 * the copied spec is in). Returns the absolute file of each source.
 */
export async function writeAthleteSources(specDir: string, size: AthleteDataSize, specText?: string): Promise<Map<string, string>> {
  const sources = athleteSourcePaths(specText);
  const missing = [...sources.keys()].filter((s) => !WRITERS.some(([name]) => name === s));
  if (missing.length) throw new Error(`test/helpers/athlete-sources.ts has no writer for athlete source(s) ${missing.join(", ")}: add one to WRITERS`);
  const written = new Map<string, string>();
  for (const [name, write] of WRITERS) {
    const rel = sources.get(name);
    if (rel === undefined) continue; // a writer for a source the spec no longer has
    const file = join(specDir, rel);
    mkdirSync(dirname(file), { recursive: true });
    await write(file, size, written);
    written.set(name, file);
  }
  return written;
}
