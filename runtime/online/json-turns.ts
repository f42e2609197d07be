// Parsing a large JSON body without holding the event loop: JSON.parse of a
// 10,000-instance request is one block of tens of milliseconds on a loaded
// machine, during which /healthz and every small request wait.
//
// A body over BODY_CHARS_PER_TURN characters is scanned (a slice per turn of
// the loop) for the arrays that carry its bulk: the top-level array, or the
// arrays that are values of the top-level object (`{"instances": [...]}`).
// Each such array is replaced by a placeholder string in a skeleton, and its
// elements are parsed in runs of about BODY_CHARS_PER_TURN characters, one
// run per turn. Every character of the body is in exactly one parsed piece
// (the skeleton or a run) except the array brackets and the commas between
// runs, which the scan has seen to be those characters at that depth, so the
// pieces parse if and only if the body does and give the same value.
// Anything else (a parse failure of a piece, an unexpected shape) falls back
// to parsing the whole body at once with parseJsonBody: the same value or the
// same error as before, position included. An NDJSON body (the events route)
// is parsed in runs of lines of about the same size: the same values and
// errors as parseNdjsonBody.

import { nextTurn } from "./turns.ts";
import { parseJsonBody, parseNdjsonBody, parseNdjsonLines } from "./json-body.ts";

/** Characters of a body parsed (or scanned) between two turns of the event loop. */
export const BODY_CHARS_PER_TURN = 64 * 1024;

/** parseNdjsonBody, runs of lines of about BODY_CHARS_PER_TURN characters with a turn of the event loop between them. */
export async function parseNdjsonBodyInTurns(text: string): Promise<unknown[]> {
  if (text.length <= BODY_CHARS_PER_TURN) return parseNdjsonBody(text);
  const lines = text.split("\n");
  const out: unknown[] = [];
  let from = 0;
  while (from < lines.length) {
    let to = from;
    for (let chars = 0; to < lines.length && chars < BODY_CHARS_PER_TURN; to++) chars += lines[to].length + 1;
    if (from > 0) await nextTurn();
    parseNdjsonLines(lines, from, to, out);
    from = to;
  }
  return out;
}

/** The placeholder of the i-th array in the skeleton (a body containing the prefix is parsed whole). */
const PLACEHOLDER = "\u0000fti-sliced-array-";

/** A bulk array found by the scan: its brackets and the commas between its elements. */
interface BulkArray {
  open: number;
  close: number;
  commas: number[];
}

/** parseJsonBody, a slice per turn of the event loop for a body over BODY_CHARS_PER_TURN characters. */
export async function parseJsonBodyInTurns(text: string): Promise<unknown> {
  // Bodies with a `__proto__`/`prototype` go through the whole-body check (rare; it names the field's path).
  if (text.length <= BODY_CHARS_PER_TURN || text.includes("__proto__") || text.includes("prototype") || text.includes("fti-sliced-array-")) {
    return parseJsonBody(text);
  }
  const arrays = await scanBulkArrays(text);
  const value = arrays && arrays.length > 0 ? await parsePieces(text, arrays) : undefined;
  return value === undefined ? parseJsonBody(text) : value;
}

/**
 * The bulk arrays of a body whose top level is an array or an object (null
 * for anything else or an unbalanced text). Strings are skipped with indexOf
 * (a quote preceded by an odd number of backslashes is escaped).
 */
async function scanBulkArrays(text: string): Promise<BulkArray[] | null> {
  let i = skipSpace(text, 0);
  const top = text[i];
  if (top !== "{" && top !== "[") return null;
  // Elements of a bulk array sit at this depth (1 for a top-level array, 2 in a top-level object).
  const elementDepth = top === "[" ? 1 : 2;
  const arrays: BulkArray[] = [];
  let current: BulkArray | null = null;
  let depth = 0;
  let nextYield = BODY_CHARS_PER_TURN;
  for (; i < text.length; i++) {
    if (i >= nextYield) {
      await nextTurn();
      nextYield = i + BODY_CHARS_PER_TURN;
    }
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      i = stringEnd(text, i);
      if (i < 0) return null;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      depth++;
      if (depth === elementDepth && c === 0x5b) arrays.push((current = { open: i, close: -1, commas: [] }));
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      if (depth === elementDepth && current) {
        if (c !== 0x5d) return null;
        current.close = i;
        current = null;
      }
      depth--;
      if (depth === 0) return skipSpace(text, i + 1) === text.length ? arrays : null;
      if (depth < 0) return null;
    } else if (c === 0x2c /* , */ && depth === elementDepth && current) {
      current.commas.push(i);
    }
  }
  return null;
}

/** The index of the closing quote of the string opening at `open`, or -1. */
function stringEnd(text: string, open: number): number {
  let q = open;
  for (;;) {
    q = text.indexOf('"', q + 1);
    if (q < 0) return -1;
    let backslashes = 0;
    while (text.charCodeAt(q - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return q;
  }
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && (text[i] === " " || text[i] === "\n" || text[i] === "\r" || text[i] === "\t")) i++;
  return i;
}

/** The value from the skeleton and the arrays' elements parsed a run at a time; undefined when a piece does not parse. */
async function parsePieces(text: string, arrays: BulkArray[]): Promise<unknown> {
  try {
    const parts: string[] = [];
    let from = 0;
    arrays.forEach((a, k) => {
      parts.push(text.slice(from, a.open), JSON.stringify(PLACEHOLDER + k));
      from = a.close + 1;
    });
    parts.push(text.slice(from));
    const skeleton = JSON.parse(parts.join("")) as unknown;
    const values: unknown[][] = [];
    for (const a of arrays) values.push(await parseElements(text, a));
    // A top-level array is the skeleton's only placeholder.
    if (typeof skeleton === "string") return skeleton === PLACEHOLDER + 0 ? values[0] : undefined;
    const obj = skeleton as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      const v = obj[key];
      if (typeof v === "string" && v.startsWith(PLACEHOLDER)) obj[key] = values[Number(v.slice(PLACEHOLDER.length))];
    }
    return obj;
  } catch {
    return undefined;
  }
}

/** The elements of one array, parsed in runs of about BODY_CHARS_PER_TURN characters with a turn between runs. */
async function parseElements(text: string, a: BulkArray): Promise<unknown[]> {
  const out: unknown[] = [];
  // Element boundaries: after `[`, each comma, and the closing `]`.
  const bounds = [a.open, ...a.commas, a.close];
  if (a.commas.length === 0 && text.slice(a.open + 1, a.close).trim() === "") return out;
  let start = 0;
  while (start < bounds.length - 1) {
    let end = start + 1;
    while (end < bounds.length - 1 && bounds[end] - bounds[start] < BODY_CHARS_PER_TURN) end++;
    if (start > 0) await nextTurn();
    const run = JSON.parse(`[${text.slice(bounds[start] + 1, bounds[end])}]`) as unknown[];
    if (run.length !== end - start) throw new Error("element count");
    for (const v of run) out.push(v);
    start = end;
  }
  return out;
}
