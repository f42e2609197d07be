// An `in (...)` list and a `check (...)` as a message quotes them: the batch
// quarantine's reasons, a stream event's 400 and a prediction request's 400
// (its text is written into the generated request checks). A list of
// thousands of values was repeated whole in every quarantined row's reason
// (830 MB of reasons for 166 rows of a 5 MB list) and in every 400's body;
// so was a check's whole source text, however long.

import { clip } from "./clip-text.ts";

/** Values of a list a message shows; then how many there are. */
const SHOWN_VALUES = 10;
/** Characters of one value a message shows (as a quarantine reason shows a row's value). */
const SHOWN_CHARS = 80;

/** `values` joined by ", ", the first SHOWN_VALUES of them, each cut at SHOWN_CHARS characters. */
export function allowedText(values: ReadonlyArray<string | number | boolean>, show: (v: string | number | boolean) => string = String): string {
  const shown = values.slice(0, SHOWN_VALUES).map((v) => {
    const text = show(v);
    return text.length > SHOWN_CHARS ? `${text.slice(0, SHOWN_CHARS)}…` : text;
  });
  return values.length > SHOWN_VALUES ? `${shown.join(", ")}, … (${values.length} values)` : shown.join(", ");
}

/** Characters of a `check (...)`'s source text a message quotes (the spec holds the whole clause). */
const CHECK_CHARS = 120;

/** A check's source text as a message quotes it: at most CHECK_CHARS characters, then its length. */
export function checkText(text: string): string {
  return clip(text, CHECK_CHARS);
}
