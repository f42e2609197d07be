// chevrotain, loaded from its single-file ESM bundle. The package's entry
// point pulls in lodash-es file by file — hundreds of modules, about a second
// of every `fti` start — while the bundle it also ships is one file that
// loads in a fraction of that. Types still come from the package.

import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

type Chevrotain = typeof import("chevrotain");

const entry = createRequire(import.meta.url).resolve("chevrotain"); // .../chevrotain/lib/src/api.js
const bundle = path.join(path.dirname(entry), "..", "chevrotain.mjs");
const chevrotain = (await import(pathToFileURL(bundle).href)) as Chevrotain;

export const { createToken, CstParser, EOF, Lexer, NoViableAltException, tokenMatcher } = chevrotain;
