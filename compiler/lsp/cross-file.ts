// A name shared by spec modules: a declaration of `common.fti` is used, under
// the same name, by every spec that imports it (and its fields, keys and
// features with it). References, rename and go to definition follow it into
// each of those files. Symbol keys (symbols.ts) are the same in every file —
// imports do not rename — so a key's occurrences are found per file, in the
// file that declares its owner (its home) and the specs that import the owner
// from there. An import names only what its module declares itself (FTI2041),
// so importers are one step from the home.

import type { Analysis } from "./analysis.ts";
import { definitionOf, occurrencesOf, type Occurrence } from "./symbols.ts";

/** The specs the server can read: open documents first, else the file on disk. */
export interface SpecSource {
  /** The analysis of the spec at `abs`, or undefined when it cannot be read. */
  analysisOf(abs: string): Analysis | undefined;
  /** The spec files that may import `home` (the workspace's and the project's `.fti` files, open documents). */
  importerCandidates(home: string): string[];
}

export interface SharedOccurrence {
  file: string;
  occ: Occurrence;
}

/** The declaration a symbol key belongs to: `fitness` for `feature:fitness.ctl_42d` and for `decl:fitness`. */
export function ownerOf(key: string): string {
  const name = key.slice(key.indexOf(":") + 1);
  return key.startsWith("decl:") ? name : name.slice(0, name.indexOf("."));
}

/** The file that declares the owner of `key`, seen from the spec at `abs`. */
export function homeOf(a: Analysis, abs: string, key: string): string {
  return a.imports.get(ownerOf(key))?.file ?? abs;
}

/** The files sharing `key` with the spec at `abs`: its home and every spec importing the owner from it. */
export function sharingFiles(specs: SpecSource, a: Analysis, abs: string, key: string): Array<{ file: string; analysis: Analysis }> {
  const owner = ownerOf(key);
  const home = homeOf(a, abs, key);
  const homeAnalysis = home === abs ? a : specs.analysisOf(home);
  const out = homeAnalysis ? [{ file: home, analysis: homeAnalysis }] : [];
  // A name the home spec itself imports is declared elsewhere: nothing to share from here.
  if (homeAnalysis?.imports.has(owner)) return home === abs ? out : [{ file: abs, analysis: a }];
  for (const file of specs.importerCandidates(home)) {
    if (file === home) continue;
    const other = file === abs ? a : specs.analysisOf(file);
    if (other?.imports.get(owner)?.file === home) out.push({ file, analysis: other });
  }
  if (!out.some((f) => f.file === abs)) out.push({ file: abs, analysis: a });
  return out;
}

/** Every occurrence of `key` in the files that share it; an import's name counts as a use, not a definition. */
export function sharedOccurrences(specs: SpecSource, a: Analysis, abs: string, key: string): SharedOccurrence[] {
  const home = homeOf(a, abs, key);
  return sharingFiles(specs, a, abs, key).flatMap(({ file, analysis }) =>
    occurrencesOf(analysis.index, key).map((occ) => ({ file, occ: file === home ? occ : { ...occ, def: false } })),
  );
}

/** Where `key` is declared: in its home file. */
export function sharedDefinition(specs: SpecSource, a: Analysis, abs: string, key: string): SharedOccurrence | undefined {
  const home = homeOf(a, abs, key);
  const analysis = home === abs ? a : specs.analysisOf(home);
  const occ = analysis && definitionOf(analysis.index, key);
  return occ ? { file: home, occ } : undefined;
}
