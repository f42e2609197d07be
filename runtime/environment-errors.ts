// Errors of the user's environment, not of fti: a full disk, a read-only or
// immutable file, a store path that is a directory, a damaged store. They
// reach the CLI as Node errno errors or as DuckDB messages; each becomes a
// UserError (exit 1) saying what happened and what to do, instead of exit 3
// "this is a bug in fti". Matching is on the errno code and on the message
// text DuckDB and the OS use (DuckDB has no error codes for these).

import { UserError } from "./errors.ts";

interface Rule {
  codes: string[];
  text: RegExp;
  message: (where: string) => string;
  hint: (where: string) => string;
}

const RULES: Rule[] = [
  {
    codes: ["ENOSPC", "EDQUOT"],
    text: /No space left on device|Disk quota exceeded|out of disk space/i,
    message: (w) => `the disk is full${w}`,
    hint: () => "free space on that disk (`df -h`), or move the store (--store / FTI_STORE) or the logs (--logs); the failed run committed nothing",
  },
  {
    codes: ["EROFS"],
    text: /Read-only file system/i,
    message: (w) => `the file system is read-only${w}`,
    hint: () => "put the store on a writable file system (--store / FTI_STORE); commands that only read (fti models) open it read-only",
  },
  {
    codes: ["EACCES", "EPERM"],
    text: /Permission denied|Operation not permitted/i,
    message: (w) => `no permission to write${w}`,
    hint: () => "check the file's and its folder's permissions and owner; an immutable file (`lsattr`) needs `chattr -i`",
  },
  {
    codes: ["EISDIR"],
    text: /Is a directory/i,
    message: (w) => `the store path is a directory${w}`,
    hint: () => "pass the path of a file inside it, e.g. --store <dir>/store.duckdb (or set FTI_STORE)",
  },
  {
    // A device or a file the kernel cannot read (`--store /proc/self/mem`, a failing disk).
    codes: ["EIO"],
    text: /Input\/output error/i,
    message: (w) => `the store cannot be read: an input/output error${w}`,
    hint: () => "a store is a regular DuckDB file on a working disk: check the path (--store / FTI_STORE), and the disk (`dmesg`)",
  },
  {
    codes: [],
    text: /Could not read enough bytes|not a valid DuckDB database|Corrupt database file|checksum .*does not match|Failed to load metadata|database file .* (is )?(corrupt|truncated)/i,
    message: (w) => `the store is damaged (truncated or corrupt)${w}`,
    hint: () => "restore it from a backup, or move it aside and rebuild it (fti features, fti train, fti materialize); fti does not write into a damaged store",
  },
];

/** A path mentioned in an errno error or in a DuckDB message ("… file \"/x\" …"). */
function pathOf(e: NodeJS.ErrnoException, fallback?: string): string | undefined {
  if (e.path) return e.path;
  return /file "([^"]+)"/.exec(e.message ?? "")?.[1] ?? fallback;
}

/** The UserError for an environment failure, or null when `e` is something else. */
export function environmentError(e: unknown, storePath?: string): UserError | null {
  if (!e || typeof e !== "object" || e instanceof UserError) return null;
  const err = e as NodeJS.ErrnoException;
  const message = err.message ?? "";
  for (const rule of RULES) {
    if ((err.code && rule.codes.includes(err.code)) || rule.text.test(message)) {
      const path = pathOf(err, storePath);
      const where = path ? ` (${path})` : "";
      return new UserError(rule.message(where), rule.hint(where));
    }
  }
  return null;
}
