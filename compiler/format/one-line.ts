// A clause printed on one line, as reasons and messages quote it.

import * as T from "../parser/lexer.ts";
import { itemsOf } from "./items.ts";
import { spaceBetween } from "./spacing.ts";

/**
 * A clause of a spec (`check ( > 0 // why\n)`) printed on one line without
 * its comments, spaced as the formatter spaces it (`check (> 0)`): the one
 * form reasons and error messages quote, whatever the clause's layout.
 */
export function oneLine(clause: string): string {
  const items = itemsOf(clause, T.lex(clause).tokens, []);
  let out = "";
  items.forEach((item, i) => {
    if (i > 0 && spaceBetween(items[i - 1], item, items[i - 2])) out += " ";
    out += item.text;
  });
  return out;
}
