// Tokens and lexer for .fti specs, built on chevrotain's Lexer.
//
// The chevrotain lexer is configured so it never fails: every character is
// matched by some token type, including `InvalidChars` (a run of characters
// that cannot start any token). `lex()` then post-processes the raw tokens in
// one pass:
//   - identifiers that spell a keyword get the keyword's token type;
//   - `Numeric` tokens are classified into NumberLit / DurationLit / DateLit,
//     or `InvalidLiteral` (FTI1006), with the decoded value in `payload`;
//   - strings are decoded into `payload` (FTI1002 unterminated, FTI1005 bad escape);
//   - invalid characters (FTI1004) and unterminated block comments (FTI1003)
//     are reported and dropped from the token stream;
//   - bidirectional controls written as they are in strings and comments are
//     reported (FTI4105), the tokens kept.
// Only offsets are tracked here; index.ts turns offsets into line/column.

import type { IToken, TokenType } from "chevrotain";
import { createToken, Lexer } from "./chevrotain.ts";
import { DIAG, type Message } from "../messages.ts";

// ---------------------------------------------------------------- categories

/** Every keyword (reserved word). */
export const Keyword = createToken({ name: "Keyword", pattern: Lexer.NA });
/** Infix operators of the expression language (`and`, `or`, arithmetic, comparisons). */
export const BinaryOperator = createToken({ name: "BinaryOperator", pattern: Lexer.NA, label: "an operator" });
/** `== != < <= > >=` */
export const ComparisonOperator = createToken({
  name: "ComparisonOperator",
  pattern: Lexer.NA,
  label: "a comparison operator",
  categories: [BinaryOperator],
});
/** Any literal that can start an expression. */
export const Literal = createToken({ name: "Literal", pattern: Lexer.NA, label: "a literal" });

// ---------------------------------------------------------------- trivia

export const WhiteSpace = createToken({
  name: "WhiteSpace",
  pattern: /[ \t\r\n\uFEFF]+/,
  group: Lexer.SKIPPED,
  line_breaks: true,
});
export const LineComment = createToken({ name: "LineComment", pattern: /\/\/[^\r\n]*/, group: "comments" });
/** Terminated or not: an unterminated one runs to the end of the file (FTI1003, found in post-processing). */
export const BlockComment = createToken({
  name: "BlockComment",
  pattern: /\/\*[^*]*(?:\*+[^*/][^*]*)*(?:\*+\/|\**)/,
  group: "comments",
  line_breaks: true,
});

// ---------------------------------------------------------------- literals

/**
 * A double-quoted string on one line. The closing quote is optional so an
 * unterminated string is still one token (FTI1002 is reported in post-processing).
 */
export const StringLit = createToken({
  name: "StringLit",
  pattern: /"[^"\\\r\n]*(?:\\[^\r\n]?[^"\\\r\n]*)*"?/,
  label: "a string",
  categories: [Literal],
});

const DATE_LIKE = /\d{4}-\d{1,2}-\d{1,2}[A-Za-z0-9_:.]*/y;
const NUMBER_LIKE = /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*/y;

/** Anything starting with a digit: a number, a duration, a date, or a malformed one of those. */
function matchNumeric(text: string, offset: number): RegExpExecArray | null {
  const c = text.charCodeAt(offset);
  if (c < 48 || c > 57) return null;
  DATE_LIKE.lastIndex = offset;
  const date = DATE_LIKE.exec(text);
  if (date) return date;
  NUMBER_LIKE.lastIndex = offset;
  return NUMBER_LIKE.exec(text);
}

/** Raw numeric token; `lex()` re-types it as one of the four below. */
export const Numeric = createToken({
  name: "Numeric",
  pattern: matchNumeric,
  line_breaks: false,
  start_chars_hint: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
});
export const NumberLit = createToken({ name: "NumberLit", pattern: Lexer.NA, label: "a number", categories: [Literal] });
export const DurationLit = createToken({
  name: "DurationLit",
  pattern: Lexer.NA,
  label: "a duration (like `7d`)",
  categories: [Literal],
});
export const DateLit = createToken({ name: "DateLit", pattern: Lexer.NA, label: "a date", categories: [Literal] });
/** A malformed number/duration/date (already reported as FTI1006); parsed like a literal, becomes an error expr. */
export const InvalidLiteral = createToken({
  name: "InvalidLiteral",
  pattern: Lexer.NA,
  label: "a literal",
  categories: [Literal],
});

export const Identifier = createToken({ name: "Identifier", pattern: /[A-Za-z_][A-Za-z0-9_]*/, label: "a name" });

// ---------------------------------------------------------------- keywords

const keywordByImage = new Map<string, TokenType>();

function kw(image: string, extraCategories: TokenType[] = []): TokenType {
  const name = "Kw_" + image;
  const t = createToken({ name, pattern: Lexer.NA, label: "`" + image + "`", categories: [Keyword, ...extraCategories] });
  keywordByImage.set(image, t);
  return t;
}

export const Source = kw("source");
export const Path = kw("path");
export const Table = kw("table");
export const Format = kw("format");
export const EventTime = kw("event_time");
export const Unique = kw("unique");
export const Fields = kw("fields");
export const In = kw("in");
export const Check = kw("check");
export const Entity = kw("entity");
export const Key = kw("key");
export const Fn = kw("fn");
export const Extern = kw("extern");
export const From = kw("from");
export const FeatureGroup = kw("feature_group");
export const Version = kw("version");
export const For = kw("for");
export const OnDemand = kw("on_demand");
export const Request = kw("request");
export const View = kw("view");
export const Label = kw("label");
export const Features = kw("features");
export const Ttl = kw("ttl");
export const AsOf = kw("as_of");
export const Model = kw("model");
export const Task = kw("task");
export const Algorithm = kw("algorithm");
export const Transform = kw("transform");
export const Split = kw("split");
export const Metric = kw("metric");
export const Require = kw("require");
export const Retrain = kw("retrain");
export const Schedule = kw("schedule");
export const Serve = kw("serve");
export const Online = kw("online");
export const Batch = kw("batch");
export const Into = kw("into");
export const If = kw("if");
export const Then = kw("then");
export const Else = kw("else");
export const And = kw("and", [BinaryOperator]);
export const Or = kw("or", [BinaryOperator]);
export const Not = kw("not");
export const True = kw("true", [Literal]);
export const False = kw("false", [Literal]);
export const Null = kw("null", [Literal]);
export const Over = kw("over");
export const Where = kw("where");
export const By = kw("by");
export const As = kw("as");
export const Index = kw("index");
export const Agent = kw("agent");
export const Llm = kw("llm");
export const Context = kw("context");
export const Retrieve = kw("retrieve");
export const Tool = kw("tool");
export const Prompt = kw("prompt");
export const Import = kw("import");

export const KEYWORDS: ReadonlyMap<string, TokenType> = keywordByImage;

// ---------------------------------------------------------------- punctuation & operators

function punct(name: string, image: string, categories: TokenType[] = []): TokenType {
  return createToken({ name, pattern: image, label: "`" + image + "`", categories });
}

export const EqEq = punct("EqEq", "==", [ComparisonOperator]);
export const NotEq = punct("NotEq", "!=", [ComparisonOperator]);
export const LtEq = punct("LtEq", "<=", [ComparisonOperator]);
export const GtEq = punct("GtEq", ">=", [ComparisonOperator]);
export const Lt = punct("Lt", "<", [ComparisonOperator]);
export const Gt = punct("Gt", ">", [ComparisonOperator]);
export const Equals = punct("Equals", "=");
export const LCurly = punct("LCurly", "{");
export const RCurly = punct("RCurly", "}");
export const LParen = punct("LParen", "(");
export const RParen = punct("RParen", ")");
export const LBracket = punct("LBracket", "[");
export const RBracket = punct("RBracket", "]");
export const Comma = punct("Comma", ",");
export const Dot = punct("Dot", ".");
export const Colon = punct("Colon", ":");
export const Plus = punct("Plus", "+", [BinaryOperator]);
export const Minus = punct("Minus", "-", [BinaryOperator]);
export const Star = punct("Star", "*", [BinaryOperator]);
export const Slash = punct("Slash", "/", [BinaryOperator]);
export const Percent = punct("Percent", "%", [BinaryOperator]);
export const Caret = punct("Caret", "^", [BinaryOperator]);
export const Question = punct("Question", "?");

// ---------------------------------------------------------------- invalid characters

/** Characters that can start some token (plus whitespace). Everything else is invalid. */
const VALID_START = " \t\r\n\uFEFFABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_\"/(){}[],.:=!<>+-*%^?";
const INVALID_RUN = /(?:[^ \t\r\n\uFEFFA-Za-z0-9_"/(){}[\],.:=!<>+\-*%^?]|!(?!=))+/y;

function matchInvalid(text: string, offset: number): RegExpExecArray | null {
  INVALID_RUN.lastIndex = offset;
  return INVALID_RUN.exec(text);
}

function invalidStartChars(): number[] {
  const out: number[] = [];
  for (let c = 0; c < 65536; c++) {
    if (c === 33 /* ! */ || !VALID_START.includes(String.fromCharCode(c))) out.push(c);
  }
  return out;
}

/** A run of characters that cannot start a token (a lone `!` included). Reported as FTI1004 and dropped. */
export const InvalidChars = createToken({
  name: "InvalidChars",
  pattern: matchInvalid,
  line_breaks: true,
  start_chars_hint: invalidStartChars(),
});

// ---------------------------------------------------------------- lexer

/** Token types in lexing order (longest alternatives first). */
const lexedTokens: TokenType[] = [
  WhiteSpace,
  LineComment,
  BlockComment,
  StringLit,
  Numeric,
  Identifier,
  EqEq,
  NotEq,
  LtEq,
  GtEq,
  Lt,
  Gt,
  Equals,
  LCurly,
  RCurly,
  LParen,
  RParen,
  LBracket,
  RBracket,
  Comma,
  Dot,
  Colon,
  Plus,
  Minus,
  Star,
  Slash,
  Percent,
  Caret,
  Question,
  InvalidChars,
];

/** Every token type the parser may see (its vocabulary). */
export const allTokenTypes: TokenType[] = [
  Keyword,
  BinaryOperator,
  ComparisonOperator,
  Literal,
  ...lexedTokens,
  NumberLit,
  DurationLit,
  DateLit,
  InvalidLiteral,
  ...keywordByImage.values(),
];

const chevLexer = new Lexer(lexedTokens, {
  positionTracking: "onlyOffset",
  ensureOptimizations: true,
});

// ---------------------------------------------------------------- post-processing

/** A lexical problem: a message of the catalogue at offsets (end exclusive). */
export interface LexProblem extends Message {
  start: number;
  end: number;
}

export interface LexResult {
  /** Significant tokens only (no whitespace, comments or invalid characters). */
  tokens: IToken[];
  problems: LexProblem[];
  /** Line and block comments in source order (the formatter and the language server keep them). */
  comments: IToken[];
}

/** Payload of a NumberLit token. */
export interface NumberPayload {
  value: number;
  isInt: boolean;
}

/**
 * Lexical problems kept per file. The parser reports at most 100 diagnostics
 * (the first ones by position), so more than this is wasted work on garbage.
 */
const MAX_LEX_PROBLEMS = 500;

function report(problems: LexProblem[], start: number, end: number, m: Message): void {
  if (problems.length < MAX_LEX_PROBLEMS) problems.push({ ...m, start, end });
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

function retype(tok: IToken, type: TokenType): void {
  tok.tokenType = type;
  tok.tokenTypeIdx = type.tokenTypeIdx!;
}

const DATE_SHAPE = /^\d{4}-\d{1,2}-\d{1,2}/;
const DATE_STRICT = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z)?)?$/;
const PLAIN_NUMBER = /^\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const INTEGER = /^\d+$/;
const WITH_SUFFIX = /^(\d+(?:\.\d+)?)([A-Za-z_][A-Za-z0-9_]*)$/;
const EMPTY_EXPONENT = /^\d+(?:\.\d+)?[eE][+-]?(?![0-9])/;

/** Why a date literal is invalid, or undefined when it is fine. */
function dateProblem(image: string): Message | undefined {
  const m = DATE_STRICT.exec(image);
  if (!m) return DIAG.invalidLiteral.date(image);
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12) return DIAG.invalidLiteral.date(image, "month must be 01 to 12");
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  if (day < 1 || day > days) return DIAG.invalidLiteral.date(image, `day must be 01 to ${days}`);
  if (m[4] !== undefined) {
    if (Number(m[4]) > 23) return DIAG.invalidLiteral.date(image, "hour must be 00 to 23");
    if (Number(m[5]) > 59) return DIAG.invalidLiteral.date(image, "minute must be 00 to 59");
    if (m[6] !== undefined && Number(m[6]) > 59) return DIAG.invalidLiteral.date(image, "second must be 00 to 59");
  }
  return undefined;
}

/** Re-types a Numeric token and sets its payload, or reports FTI1006 and makes it an InvalidLiteral. */
function classifyNumeric(tok: IToken, problems: LexProblem[]): void {
  const image = tok.image;
  let problem: Message | undefined;

  if (PLAIN_NUMBER.test(image)) {
    const value = Number(image);
    const isInt = INTEGER.test(image);
    // An int past 2^53 - 1 would be one value in SQL (BIGINT) and another in the TypeScript of ODTs (a double).
    if (isInt && !Number.isSafeInteger(value)) problem = DIAG.invalidLiteral.integerTooLarge(image);
    else if (Number.isFinite(value)) {
      retype(tok, NumberLit);
      tok.payload = { value, isInt } satisfies NumberPayload;
      return;
    } else problem = DIAG.invalidLiteral.numberTooLarge(image);
  } else if (DATE_SHAPE.test(image)) {
    problem = dateProblem(image);
    if (problem === undefined) {
      retype(tok, DateLit);
      tok.payload = { iso: image };
      return;
    }
  } else {
    const dur = WITH_SUFFIX.exec(image);
    const factor = dur ? DURATION_UNITS[dur[2]] : undefined;
    if (dur && factor !== undefined) {
      const ms = Number(dur[1]) * factor;
      // Beyond 2^53 - 1 ms (about 285,000 years) a duration's microseconds no longer fit DuckDB's BIGINT.
      // DuckDB's timestamps count microseconds: `0.0000001ms` became a frame of -1 µs (an internal error).
      const us = ms * 1000;
      const whole = Math.abs(us - Math.round(us)) <= 1e-6 + 1e-9 * us;
      if (ms <= Number.MAX_SAFE_INTEGER && whole) {
        retype(tok, DurationLit);
        tok.payload = { ms };
        return;
      }
      problem = whole ? DIAG.invalidLiteral.durationTooLarge(image) : DIAG.invalidLiteral.durationFraction(image);
    } else if (EMPTY_EXPONENT.test(image)) {
      problem = DIAG.invalidLiteral.emptyExponent(image);
    } else if (dur) {
      problem = DIAG.invalidLiteral.unknownUnit(dur[2], image);
    } else {
      problem = DIAG.invalidLiteral.number(image);
    }
  }
  report(problems, tok.startOffset, tok.startOffset + image.length, problem);
  retype(tok, InvalidLiteral);
}

/** Decodes a string token's contents into `payload`, reporting bad escapes and a missing closing quote. */
function decodeString(tok: IToken, problems: LexProblem[]): void {
  const image = tok.image;
  const start = tok.startOffset;
  let out = "";
  let i = 1;
  let terminated = false;
  while (i < image.length) {
    const ch = image[i];
    if (ch === '"') {
      terminated = true;
      break;
    }
    if (ch !== "\\") {
      let j = i + 1;
      while (j < image.length && image[j] !== '"' && image[j] !== "\\") j++;
      // A NUL would end the SQL text the string is written into (DuckDB reads it as a C string).
      for (let k = image.indexOf("\0", i); k >= 0 && k < j; k = image.indexOf("\0", k + 1)) report(problems, start + k, start + k + 1, DIAG.invalidCharacter.run("\0"));
      out += image.slice(i, j);
      i = j;
      continue;
    }
    const next = image[i + 1];
    if (next === undefined) {
      i++; // a backslash at the end of an unterminated string: FTI1002 covers it
      break;
    }
    switch (next) {
      case '"':
        out += '"';
        i += 2;
        continue;
      case "\\":
        out += "\\";
        i += 2;
        continue;
      case "n":
        out += "\n";
        i += 2;
        continue;
      case "t":
        out += "\t";
        i += 2;
        continue;
      case "r":
        out += "\r";
        i += 2;
        continue;
      case "u": {
        const m = /^\{([0-9A-Fa-f]{1,6})\}/.exec(image.slice(i + 2, i + 12));
        if (m) {
          const cp = parseInt(m[1], 16);
          if (cp === 0 || (cp >= 0xd800 && cp <= 0xdfff)) {
            // NUL ends the SQL text; a lone surrogate would be U+FFFD in DuckDB and itself in TypeScript.
            report(problems, start + i, start + i + 2 + m[0].length, DIAG.invalidEscape.notACharacter(image.slice(i, i + 2 + m[0].length)));
            i += 2 + m[0].length;
            continue;
          }
          if (cp <= 0x10ffff) {
            out += String.fromCodePoint(cp);
            i += 2 + m[0].length;
            continue;
          }
          report(problems, start + i, start + i + 2 + m[0].length, DIAG.invalidEscape.outOfRange(image.slice(i, i + 2 + m[0].length)));
          out += image.slice(i, i + 2 + m[0].length);
          i += 2 + m[0].length;
          continue;
        }
        const close = image.indexOf("}", i);
        const end = close > i && close - i <= 12 && image[i + 2] === "{" ? close + 1 : i + 2;
        report(problems, start + i, start + Math.min(end, image.length), DIAG.invalidEscape.badUnicode(image.slice(i, end)));
        out += image.slice(i, end);
        i = end;
        continue;
      }
      default: {
        const cp = image.codePointAt(i + 1) ?? 0;
        const len = cp > 0xffff ? 3 : 2;
        report(problems, start + i, start + i + len, DIAG.invalidEscape.unknown(image.slice(i, i + len)));
        out += image.slice(i, i + len);
        i += len;
      }
    }
  }
  if (!terminated) {
    report(problems, start, start + image.length, DIAG.unterminatedString.at());
  }
  tok.payload = out;
}

/**
 * Bidirectional controls (embeddings, overrides, isolates) written as they are: in a string or a
 * comment they reorder how the rest of the line is displayed, so a spec can be reviewed as one thing
 * and do another ("Trojan Source"). Outside strings and comments they are invalid characters (FTI1004).
 */
const BIDI_CONTROL = /[\u202A-\u202E\u2066-\u2069]/g;

function reportBidiControls(tok: IToken, where: "string" | "comment", problems: LexProblem[]): void {
  BIDI_CONTROL.lastIndex = 0;
  for (let m = BIDI_CONTROL.exec(tok.image); m; m = BIDI_CONTROL.exec(tok.image)) {
    report(problems, tok.startOffset + m.index, tok.startOffset + m.index + 1, DIAG.bidiControl.at(m[0].charCodeAt(0), where));
  }
}

/** Tokenizes `text`. Never throws for any input. */
export function lex(text: string): LexResult {
  const raw = chevLexer.tokenize(text);
  const problems: LexProblem[] = [];
  const tokens: IToken[] = [];

  // Chevrotain should never report errors (InvalidChars matches everything else),
  // but keep them rather than lose them.
  for (const e of raw.errors) {
    report(problems, e.offset, e.offset + Math.max(1, e.length), DIAG.invalidCharacter.single());
  }

  for (const c of raw.groups.comments ?? []) {
    if (c.image.startsWith("/*") && !(c.image.length >= 4 && c.image.endsWith("*/"))) {
      report(problems, c.startOffset, c.startOffset + 2, DIAG.unterminatedComment.at());
    }
    reportBidiControls(c, "comment", problems);
  }

  for (const tok of raw.tokens) {
    const type = tok.tokenType;
    if (type === Identifier) {
      const k = keywordByImage.get(tok.image);
      if (k) retype(tok, k);
    } else if (type === Numeric) {
      classifyNumeric(tok, problems);
    } else if (type === StringLit) {
      decodeString(tok, problems);
      reportBidiControls(tok, "string", problems);
    } else if (type === InvalidChars) {
      report(problems, tok.startOffset, tok.startOffset + tok.image.length, DIAG.invalidCharacter.run(tok.image));
      continue;
    }
    tokens.push(tok);
  }
  problems.sort((a, b) => a.start - b.start);
  return { tokens, problems, comments: raw.groups.comments ?? [] };
}
