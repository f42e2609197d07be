// Line endings DuckDB's CSV reader can take. It reads a file whose lines all
// end in \n, or all in \r\n; a file that mixes them (a CRLF header over LF
// rows, one CRLF line appended to an LF file) or ends its lines in \r alone
// (old Mac exports) fails as a whole ("the CSV parser state machine reached
// an invalid state"), which would lose every good row with the bad. Such a
// file is read from a temporary copy whose line breaks outside quoted values
// are all \n: \r\n and a lone \r each end a line, as they do for Python's csv
// module and pandas; quoted values are copied byte for byte.

import { closeSync, mkdtempSync, openSync, readSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const CR = 13;
const LF = 10;
const QUOTE = 34;
const CHUNK = 1 << 20;

/** Whether every line break of `file` is \n, or every one is \r\n (quotes aside: a quoted \r\n in an LF file needs the copy too). */
export function uniformLineEndings(file: string): boolean {
  const fd = openSync(file, "r");
  const buf = Buffer.alloc(CHUNK);
  let crs = 0;
  let lfs = 0;
  let pairs = 0;
  let prevCr = false; // the previous chunk ended in \r
  let lfBeforeCr = false;
  try {
    for (let at = 0; ; at += CHUNK) {
      const n = readSync(fd, buf, 0, CHUNK, at);
      if (n <= 0) break;
      const chunk = buf.subarray(0, n);
      const firstCr = chunk.indexOf(CR);
      if (crs === 0 && firstCr < 0) {
        // No \r yet: one search per chunk, the lines of an LF file are never counted.
        if (chunk.indexOf(LF) >= 0) lfBeforeCr = true;
        continue;
      }
      if (crs === 0) {
        const firstLf = chunk.indexOf(LF);
        if (lfBeforeCr || (firstLf >= 0 && firstLf < firstCr)) return false; // an LF line, then a \r
      }
      if (prevCr && chunk[0] === LF) pairs++;
      for (let i = firstCr; i >= 0; i = chunk.indexOf(CR, i + 1)) {
        crs++;
        if (i + 1 < n && chunk[i + 1] === LF) pairs++;
      }
      for (let i = chunk.indexOf(LF); i >= 0; i = chunk.indexOf(LF, i + 1)) lfs++;
      prevCr = chunk[n - 1] === CR;
      if (crs !== pairs + (prevCr ? 1 : 0) || lfs !== pairs) return false;
    }
  } finally {
    closeSync(fd);
  }
  return crs === 0 || (crs === pairs && lfs === pairs);
}

/**
 * A temporary copy of `file` with every line break outside a quoted value
 * turned into \n (a quote opens a value at the start of a field, as DuckDB
 * reads it: `""` inside is one quote). The caller removes the copy's folder.
 */
export function copyWithLfEndings(file: string, delim: string): string {
  const dir = mkdtempSync(join(tmpdir(), "fti-csv-"));
  const copy = join(dir, "lf.csv");
  const d = delim.charCodeAt(0);
  const inFd = openSync(file, "r");
  const outFd = openSync(copy, "w");
  const buf = Buffer.alloc(CHUNK);
  const out = Buffer.alloc(CHUNK + 1);
  let quoted = false;
  let fieldStart = true;
  let justClosed = false; // the previous byte closed a quoted value (a quote now is `""`)
  let pendingCr = false; // a \r outside quotes, waiting to see whether \n follows
  try {
    for (let at = 0; ; ) {
      const n = readSync(inFd, buf, 0, CHUNK, at);
      if (n <= 0) break;
      at += n;
      let o = 0;
      for (let i = 0; i < n; i++) {
        const b = buf[i];
        if (pendingCr) {
          pendingCr = false;
          out[o++] = LF;
          if (b === LF) continue;
        }
        if (quoted) {
          if (b === QUOTE) (quoted = false), (justClosed = true);
          out[o++] = b;
          continue;
        }
        if (b === QUOTE && (fieldStart || justClosed)) quoted = true;
        justClosed = false;
        fieldStart = b === d || b === LF;
        if (b === CR) {
          pendingCr = true;
          fieldStart = true;
          continue;
        }
        out[o++] = b;
      }
      writeSync(outFd, out, 0, o);
    }
    if (pendingCr) writeSync(outFd, Buffer.from([LF]));
  } finally {
    closeSync(inFd);
    closeSync(outFd);
  }
  return copy;
}
