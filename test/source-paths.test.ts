// A spec cannot read outside its project (#8): the checker refuses a path
// that leads out (FTI2015, fixture in test/fixtures/diagnostics), and the
// feature pipeline checks the real path of every file it would read, so a
// symlink or a glob cannot lead out either; no error prints file contents.

import { spawnSync } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { compileSpec } from "../compiler/compile.ts";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { confinedPath, projectRoot, sourceRoots } from "../runtime/features/source-paths.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import { activitiesSource, athleteBundle, tempDir } from "./helpers/bundles.ts";

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

/** A project folder (package.json) with the spec in specs/ and a secret file outside it. */
function project() {
  const outer = tempDir();
  const root = join(outer, "proj");
  mkdirSync(join(root, "specs", "data"), { recursive: true });
  writeFileSync(join(root, "package.json"), "{}");
  const secret = join(outer, "secret.csv");
  writeFileSync(secret, "activity_id,athlete_id\nTOP-SECRET-LINE,x\n");
  return { outer, root, specDir: join(root, "specs"), secret };
}

async function featuresError(specDir: string, path: string): Promise<string> {
  store = await openStore({ path: ":memory:" });
  try {
    await runFeaturePipeline(store, athleteBundle(specDir, { sources: [activitiesSource(path)], groups: [], views: [] }));
  } catch (e) {
    return (e as Error).message + " " + ((e as { hint?: string }).hint ?? "");
  }
  return "no error";
}

describe("source paths are confined to the project", () => {
  it("the project root is the nearest folder with package.json, .git or fti.json; fti.json adds sourceRoots", () => {
    const p = project();
    expect(projectRoot(p.specDir)).toBe(p.root);
    expect(confinedPath("../data/x.csv", p.specDir).inside).toBe(true);
    expect(confinedPath("../../secret.csv", p.specDir).inside).toBe(false);
    expect(confinedPath(p.secret, p.specDir).inside).toBe(false);
    expect(confinedPath("/etc/passwd", p.specDir).inside).toBe(false);
    expect(confinedPath("data/../../../*.csv", p.specDir).inside).toBe(false);
    writeFileSync(join(p.root, "fti.json"), JSON.stringify({ sourceRoots: [".."] }));
    expect(sourceRoots(p.specDir)).toEqual([p.root, p.outer]);
    expect(confinedPath("../../secret.csv", p.specDir).inside).toBe(true);
  });

  it("features refuses a path, a glob and a symlink that lead outside, without printing the file", async () => {
    const p = project();
    for (const path of ["../../secret.csv", p.secret, "../../*.csv", "/etc/passwd"]) {
      const msg = await featuresError(p.specDir, path);
      expect(msg).toContain("leads outside the project");
      expect(msg).not.toContain("TOP-SECRET");
      expect(msg).not.toContain("root:");
      await store?.close();
      store = undefined;
    }
    symlinkSync(p.secret, join(p.specDir, "data", "link.csv"));
    const viaLink = await featuresError(p.specDir, "data/link.csv");
    expect(viaLink).toContain("leads outside the project");
    expect(viaLink).not.toContain("TOP-SECRET");
    await store?.close();
    store = undefined;
    const viaGlob = await featuresError(p.specDir, "data/*.csv");
    expect(viaGlob).toContain("leads outside the project");
  });
});

describe("an fti.json that adds nothing", () => {
  it("says why beside FTI2015 (not JSON, sourceRoots not a list), where the hint told to add the folder that was there", async () => {
    const p = project();
    const spec = join(p.specDir, "x.fti");
    writeFileSync(spec, `source s { path "../../secret.csv" format csv fields { activity_id: string } }\n`);
    const closeStore = async () => {
      await store?.close();
      store = undefined;
    };
    const hintFor = async (config: string) => {
      writeFileSync(join(p.root, "fti.json"), config);
      const r = await compileSpec(spec, { outDir: join(p.root, "generated", "x"), checkOnly: true });
      const d = r.diagnostics.find((x) => x.code === 2015);
      return { message: d?.message, hint: d?.hint, features: await featuresError(p.specDir, "../../secret.csv") };
    };
    const broken = await hintFor('{"sourceRoots": [".."],}');
    expect(broken.message).toBe("source path `../../secret.csv` leads outside the project");
    expect(broken.hint).toBe("the project's fti.json is not valid JSON, so its sourceRoots add nothing: fix it to list the folder there");
    expect(broken.features).toContain("the project's fti.json is not valid JSON");
    expect(broken.features).not.toContain("TOP-SECRET");
    await closeStore();
    const notList = await hintFor('{"sourceRoots": ".."}');
    expect(notList.hint).toContain("the sourceRoots of the project's fti.json is not a list of folder names");
    await closeStore();
    expect((await hintFor('{"other": 1}')).hint).toContain("add its folder to `sourceRoots` in fti.json");
    await closeStore();
    expect((await hintFor('{"sourceRoots": [".."]}')).hint).toBeUndefined();
  });
});

describe("source paths name regular files", () => {
  it("a pipe is refused before it is read (a FIFO would block the read; DuckDB's glob lists regular files only)", async () => {
    const p = project();
    spawnSync("mkfifo", [join(p.specDir, "data", "pipe.csv")]);
    expect(await featuresError(p.specDir, "data/pipe.csv")).toContain(`${join(p.specDir, "data", "pipe.csv")} is not a regular file (a pipe or a device)`);
  });
});

describe("extern fn modules are confined to the project", () => {
  it("a symlink inside the project to a module outside it is FTI2015, as a spec import's is (it was accepted and ran)", async () => {
    const p = project();
    const outside = join(p.outer, "outside.ts");
    writeFileSync(outside, "export function shout(x: string): string { return x.toUpperCase(); }\n");
    symlinkSync(outside, join(p.specDir, "linked.ts"));
    writeFileSync(join(p.specDir, "inside.ts"), "export function shout(x: string): string { return x.toUpperCase(); }\n");
    const check = async (module: string) => {
      const spec = join(p.specDir, "x.fti");
      writeFileSync(spec, `extern fn shout(x: string): string from "${module}"\n`);
      const r = await compileSpec(spec, { outDir: join(p.root, "generated", "x"), checkOnly: true });
      return r.diagnostics.filter((d) => d.severity === "error").map((d) => `FTI${d.code}: ${d.message}`);
    };
    expect(await check("./linked.ts")).toEqual(["FTI2015: extern module `./linked.ts` is a symbolic link that leads outside the project"]);
    expect(await check("../../outside.ts")).toEqual(["FTI2015: extern module `../../outside.ts` lies outside the project"]);
    expect(await check("./inside.ts")).toEqual([]);
  });
});
