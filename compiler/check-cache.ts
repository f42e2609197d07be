// Remembers TypeScript checks that passed, so an unchanged input is not
// checked again in the next process. A check is identified by a scope (what
// was checked: the generated modules of one output directory, one extern
// function) and a key (a hash of everything the check was handed: the
// generated text, the declared signature, the compiler options, the
// TypeScript version). With it the cache stores the content hash of every
// file the TypeScript program read (runtime API, zod's declarations, user
// modules). A later check is skipped only when the key is the same AND every
// one of those files still has the same content; anything else is a miss and
// the check runs. Failed checks are never stored.
//
// The cache lives in `$FTI_CACHE_DIR`, else `.fti/cache/` under the working
// directory; `FTI_NO_CACHE=1` turns it off. It is only an optimisation: a
// cache that cannot be read or written is a miss, never an error.

import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { makeDirs } from "../runtime/make-dirs.ts";

interface Entry {
  key: string;
  /** Absolute path → sha256 of the text the program read. */
  files: Record<string, string>;
}

export function cacheDir(): string | undefined {
  if (process.env.FTI_NO_CACHE && process.env.FTI_NO_CACHE !== "0") return undefined;
  const dir = process.env.FTI_CACHE_DIR;
  return path.resolve(dir && dir.trim() !== "" ? dir : ".fti/cache");
}

export function sha256(text: string | Buffer): string {
  return crypto.createHash("sha256").update(text).digest("hex");
}

/** Whether a check of `scope` with this key passed before, with every file it read unchanged. */
export function passedBefore(scope: string, key: string): boolean {
  const file = entryFile(scope);
  if (!file) return false;
  let entry: Partial<Entry> | null;
  try {
    entry = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<Entry> | null;
  } catch {
    return false;
  }
  // An entry edited into another shape (`null`, `files: null`) is a miss like an unreadable one.
  if (entry?.key !== key || typeof entry.files !== "object" || entry.files === null) return false;
  for (const [p, hash] of Object.entries(entry.files)) {
    let text: Buffer;
    try {
      // Only a regular file: a FIFO named there blocked the read for ever, /dev/zero read 2 GB.
      if (!fs.statSync(p).isFile()) return false;
      text = fs.readFileSync(p);
    } catch {
      return false;
    }
    if (sha256(text) !== hash) return false;
  }
  return true;
}

/** Records a passing check: its key and the text of every file the program read. */
export function recordPass(scope: string, key: string, files: Map<string, string>): void {
  const file = entryFile(scope);
  if (!file) return;
  const entry: Entry = { key, files: {} };
  for (const [p, text] of files) entry.files[p] = sha256(text);
  // Written aside and renamed: a concurrent reader sees the old entry or the new one.
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    makeDirs(path.dirname(file));
    fs.writeFileSync(tmp, JSON.stringify(entry));
    fs.renameSync(tmp, file);
  } catch {
    removeQuietly(tmp);
  }
}

/** Removes a file if it is there; a path that cannot even be looked at (a file where a directory should be) is fine too. */
export function removeQuietly(file: string): void {
  try {
    fs.rmSync(file, { force: true });
  } catch {
    // nothing was written there
  }
}

let toolchain: string | undefined;

/** The versions of ts-morph and of the TypeScript it bundles, read without loading either. */
export function toolchainVersion(): string {
  if (toolchain) return toolchain;
  try {
    const tsMorph = findPackageJson(path.dirname(createRequire(import.meta.url).resolve("ts-morph")));
    const common = findPackageJson(path.dirname(createRequire(path.join(tsMorph.dir, "package.json")).resolve("@ts-morph/common")));
    toolchain = `ts-morph@${tsMorph.version} @ts-morph/common@${common.version}`;
  } catch {
    toolchain = `unknown ${Date.now()}`; // never matches a stored key
  }
  return toolchain;
}

function findPackageJson(from: string): { version: string; dir: string } {
  for (let d = from; d !== path.dirname(d); d = path.dirname(d)) {
    const p = path.join(d, "package.json");
    if (fs.existsSync(p)) {
      const pkg = JSON.parse(fs.readFileSync(p, "utf8")) as { name?: string; version?: string };
      if (pkg.name && pkg.version) return { version: pkg.version, dir: d };
    }
  }
  throw new Error(`no package.json above ${from}`);
}

function entryFile(scope: string): string | undefined {
  const dir = cacheDir();
  return dir ? path.join(dir, "checks", `${sha256(scope).slice(0, 32)}.json`) : undefined;
}
