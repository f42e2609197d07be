// A file a flag names for the command to read whole (`--token-file`,
// `--admin-token-file`, `register --onnx`): read up to a bound, so that a
// device that never ends (/dev/zero, /dev/urandom) is an error naming the
// flag at once instead of a process that fills its memory until it dies (a
// pipe is read up to the bound) — and a directory or a missing file says which it is.

import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { UserError } from "./errors.ts";

/** A token file holds tokens one per line: thousands of them fit. */
export const TOKEN_FILE_LIMIT_BYTES = 1 << 20;

/** The bytes of `file`, refused with a UserError naming `flag` when it cannot be opened or holds more than `maxBytes`. */
export function readInputFile(file: string, flag: string, maxBytes: number): Buffer {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : code === "EACCES" ? "no permission to read it" : (code ?? (e as Error).message);
    throw new UserError(`${flag} ${file}: ${why}`);
  }
  try {
    const stat = fstatSync(fd);
    // A device is never such a file, and may never end; a pipe (`<(echo …)`) is read to the bound.
    if (stat.isCharacterDevice() || stat.isBlockDevice()) throw new UserError(`${flag} ${file}: is a device, not a file`, "pass the path of a regular file");
    if (stat.isFile() && stat.size > maxBytes) throw new UserError(`${flag} ${file}: larger than ${sizeText(maxBytes)}`);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1 << 20, maxBytes + 1 - total));
      let n: number;
      try {
        n = readSync(fd, chunk, 0, chunk.length, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new UserError(`${flag} ${file}: ${code === "EISDIR" ? "is a directory" : `cannot be read (${code ?? (e as Error).message})`}`);
      }
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > maxBytes) throw new UserError(`${flag} ${file}: larger than ${sizeText(maxBytes)}; it was not read further`);
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

function sizeText(bytes: number): string {
  return bytes >= 1 << 20 ? `${Math.round(bytes / (1 << 20))} MB` : `${Math.round(bytes / 1024)} KB`;
}
