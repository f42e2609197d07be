// The parser's public entry point: text -> { program, diagnostics }.
//
//   lex (lexer.ts) -> split into one chunk per top-level declaration
//   -> nesting pre-scan (FTI1007) -> chevrotain parse of the chunk (grammar.ts)
//   -> CST to AST (to-ast.ts)
//
// Each declaration is parsed on its own, so an error never cascades into the
// next one, and at most one FTI1001 is reported per declaration. `parse`
// never throws. See CONTEXT.md.

import type { IRecognitionException, IToken } from "chevrotain";
import { EOF } from "./chevrotain.ts";
import type { Decl, ImportDecl, Pos, Program, Range } from "../ast.ts";
import { diagnostic, sortDiagnostics, type Diagnostic } from "../diagnostics.ts";
import { DIAG, didYouMean, GROUP_KEY_COLUMNS_HINT, JOIN_CLAUSE_HINT, quoteSource, type Message, type Suggestion } from "../messages.ts";
import { getParser, MAX_NESTING, TooManyErrors, type CstNode } from "./grammar.ts";
import * as T from "./lexer.ts";
import { readDirect } from "./direct.ts";
import type { ToAstContext } from "./ast-nodes.ts";
import { declarationToAst } from "./to-ast.ts";
import { capExpressionDepth, MAX_EXPR_DEPTH } from "./expr-depth.ts";

export interface ParseResult {
  program: Program;
  diagnostics: Diagnostic[];
}

export interface ParseOptions {
  /**
   * `false`: parse every declaration with chevrotain, never the fast path of
   * direct.ts (test/parser-direct.test.ts compares the two). Same result.
   */
  direct?: boolean;
}

/** At most this many syntax diagnostics per file. */
export const MAX_SYNTAX_DIAGNOSTICS = 100;

export { MAX_NESTING };

// ---------------------------------------------------------------- positions

/** Offset -> line/column; lines end at \r\n, \n or a lone \r (like `splitLines`). */
export class LineMap {
  private readonly starts: number[] = [0];
  /** The line of the last answer (0-based). */
  private lastLine = 0;

  constructor(private readonly text: string) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 13) {
        if (text.charCodeAt(i + 1) === 10) i++;
        this.starts.push(i + 1);
      } else if (c === 10) {
        this.starts.push(i + 1);
      }
    }
  }

  pos(offset: number): Pos {
    let o = Number.isFinite(offset) ? Math.trunc(offset) : 0;
    if (o < 0) o = 0;
    if (o > this.text.length) o = this.text.length;
    // The parser asks in (nearly) increasing order: try the last line and the next first.
    const last = this.lastLine;
    const starts = this.starts;
    if (starts[last] <= o && (last + 1 === starts.length || o < starts[last + 1])) return { offset: o, line: last + 1, column: o - starts[last] + 1 };
    if (last + 1 < starts.length && starts[last + 1] <= o && (last + 2 === starts.length || o < starts[last + 2])) {
      this.lastLine = last + 1;
      return { offset: o, line: last + 2, column: o - starts[last + 1] + 1 };
    }
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= o) lo = mid;
      else hi = mid - 1;
    }
    this.lastLine = lo;
    return { offset: o, line: lo + 1, column: o - this.starts[lo] + 1 };
  }

  range(start: number, end: number): Range {
    const s = this.pos(start);
    const e = this.pos(end);
    return e.offset >= s.offset ? { start: s, end: e } : { start: s, end: s };
  }
}

// ---------------------------------------------------------------- chunks

interface Chunk {
  tokens: IToken[];
  /** First token after the chunk (the next declaration's keyword), if any. */
  next: IToken | undefined;
}

const DECL_START = new Set([T.Import, T.Source, T.Entity, T.Extern, T.FeatureGroup, T.OnDemand, T.Model, T.Serve, T.Index, T.Agent]);

/**
 * Splits the token stream before each declaration keyword. Keywords are
 * reserved, so these can only start a declaration; the exceptions are `fn`
 * after `extern`, and `view`, which is also a model item (`view NAME` inside a
 * model body, while a view declaration is `view NAME for ...`).
 */
function splitDeclarations(tokens: IToken[]): Chunk[] {
  const chunks: Chunk[] = [];
  let start = 0;
  let inModel = false;
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i].tokenType;
    let starts = DECL_START.has(t);
    if (t === T.Fn) starts = tokens[i - 1]?.tokenType !== T.Extern;
    if (t === T.View) {
      starts = !(inModel && depth > 0) || (tokens[i + 1]?.tokenType === T.Identifier && (tokens[i + 2]?.tokenType === T.For || tokens[i + 2]?.tokenType === T.From));
    }
    // `entity: string` in a block is a field (or key) named like a keyword, not a declaration: its error says so.
    if (starts && depth > 0 && tokens[i + 1]?.tokenType === T.Colon) starts = false;
    if (starts) {
      if (i > start) chunks.push({ tokens: tokens.slice(start, i), next: tokens[i] });
      start = i;
      inModel = t === T.Model;
      depth = 0;
    }
    if (t === T.LCurly) depth++;
    else if (t === T.RCurly) depth--;
  }
  if (tokens.length > start) chunks.push({ tokens: tokens.slice(start), next: undefined });
  return chunks;
}

/**
 * Pre-scan for nesting depth: `(` and `[` open a level; every `if` and `over`
 * opens one too, until the `)`/`]`/`,` that ends its enclosing group or a new
 * statement (`=`, `{`, `}` or a non-expression keyword at the top level).
 * Returns the first token that goes past MAX_NESTING.
 */
function findTooDeep(tokens: IToken[]): IToken | undefined {
  const ifsPerLevel: number[] = [0];
  let ifs = 0;
  let prefixRun = 0;
  for (const tok of tokens) {
    const t = tok.tokenType;
    if (t === T.LParen || t === T.LBracket) {
      ifsPerLevel.push(0);
    } else if (t === T.RParen || t === T.RBracket) {
      if (ifsPerLevel.length > 1) ifs -= ifsPerLevel.pop()!;
    } else if (t === T.If || t === T.Over) {
      // `if` nests its branches; `over` nests the window expression after it.
      ifsPerLevel[ifsPerLevel.length - 1]++;
      ifs++;
    } else if (t === T.Comma || t === T.Equals || t === T.LCurly || t === T.RCurly || isStatementKeyword(t)) {
      ifs -= ifsPerLevel[ifsPerLevel.length - 1];
      ifsPerLevel[ifsPerLevel.length - 1] = 0;
    }
    // Runs of prefix operators (`- - - x`, `not not x`) nest too.
    prefixRun = t === T.Minus || t === T.Not ? prefixRun + 1 : 0;
    if (ifsPerLevel.length - 1 + ifs > MAX_NESTING || prefixRun > MAX_NESTING) return tok;
  }
  return undefined;
}

const EXPRESSION_KEYWORDS = new Set([T.If, T.Then, T.Else, T.And, T.Or, T.Not, T.True, T.False, T.Null, T.Over, T.In]);

const STATEMENT_KEYWORDS = new Set([...T.KEYWORDS.values()].filter((k) => !EXPRESSION_KEYWORDS.has(k)));

function isStatementKeyword(t: IToken["tokenType"]): boolean {
  return STATEMENT_KEYWORDS.has(t);
}

// ---------------------------------------------------------------- messages

/** Items a declaration body accepts, for "unexpected X in Y; expected ..." messages. */
const BODY_ITEMS: Record<string, string> = {
  sourceDecl: "path, table, format, event_time, unique, valid_from, valid_to, stream, fields",
  fieldsBlock: "a field (`name: type`)",
  entityDecl: "`key`",
  featureGroupDecl: "a feature (`name = expression`)",
  viewDecl: "label, features, ttl, as_of",
  modelDecl: "view, task, algorithm, transform, split, metric, require",
  serveDecl: "online, batch into",
  agentDecl: "llm, context, retrieve, tool, prompt",
};

/** Comma-separated lists: a missing closer reads better as "expected `,` or `)`". */
const LIST_RULES = new Set(["params", "onDemandDecl", "argList", "parenList", "listExpr", "keyClause"]);

const DECLARATION_KEYWORDS = ["import", "source", "entity", "fn", "extern", "feature_group", "on_demand", "view", "model", "serve", "index", "agent"];

/** Keywords that may appear where `expected` is, for "did you mean" hints on misspellings. */
function candidateKeywords(expected: string, rule: string, bodyExpected: boolean): string[] {
  if (expected === "a declaration") return DECLARATION_KEYWORDS;
  const text = bodyExpected ? BODY_ITEMS[rule] ?? "" : expected;
  return [...text.matchAll(/[a-z_]+/g)].map((m) => m[0]).filter((w) => T.KEYWORDS.has(w));
}

/** A "did you mean" for a misspelt keyword: only a name can be one. */
function suggestKeyword(found: IToken | undefined, candidates: string[]): Suggestion | undefined {
  if (!found || found.tokenType !== T.Identifier) return undefined;
  return didYouMean(found.image, candidates);
}

function foundText(t: IToken): string {
  if (t.tokenType === EOF) return "end of file";
  if (t.tokenType === T.StringLit) return "string " + quoteSource(t.image);
  return quoteSource(t.image);
}

function isKeyword(t: IToken): boolean {
  return T.KEYWORDS.get(t.image) === t.tokenType;
}

/** `source activities`, `extern fn hr_zone`, ... for messages; undefined for a chunk that is not a declaration. */
function chunkLabel(tokens: IToken[]): string | undefined {
  const first = tokens[0];
  if (!first || !isKeyword(first)) return undefined;
  let i = 1;
  let kw = first.image;
  if (first.tokenType === T.Extern && tokens[1]?.tokenType === T.Fn) {
    kw = "extern fn";
    i = 2;
  }
  const name = tokens[i];
  return name && name.tokenType === T.Identifier ? `${kw} ${name.image}` : kw;
}

/** Whether `at` follows a `by …` or `as …` of the current `features` line (`features g.a by x, g.b by y`). */
function afterJoinClause(tokens: IToken[], at: IToken): boolean {
  for (let i = tokens.indexOf(at) - 1; i >= 0; i--) {
    const t = tokens[i].tokenType;
    if (t === T.By || t === T.As) return true;
    if (t === T.Features || t === T.Label || t === T.LCurly) return false;
  }
  return false;
}

/** `entity: int` in a fields block: the keyword and the type written after it (for the hint's `from` example). */
function keywordField(tokens: IToken[], keyword: IToken): { name: string; type: string } {
  const type = tokens[tokens.indexOf(keyword) + 2];
  return { name: keyword.image, type: type?.tokenType === T.Identifier ? type.image : "string" };
}

/** `feature_group g for e from s by col`: the `for e(col) from s` it means, named from the tokens when they are that shape. */
function groupKeyColumnsHint(tokens: IToken[], by: IToken): string {
  const at = tokens.indexOf(by);
  const name = (i: number) => (tokens[i]?.tokenType === T.Identifier ? tokens[i].image : undefined);
  const forAt = tokens.findIndex((t) => t.tokenType === T.For);
  const fromIsBeforeBy = tokens[at - 2]?.tokenType === T.From;
  return GROUP_KEY_COLUMNS_HINT(forAt >= 0 ? name(forAt + 1) : undefined, name(at + 1), fromIsBeforeBy ? name(at - 1) : undefined);
}

interface SyntaxError {
  /** The parser ran into the end of the declaration's tokens. */
  atEnd: boolean;
  start: number;
  end: number;
  problem: Message;
}

function describeError(e: IRecognitionException, chunk: Chunk): SyntaxError {
  const tokens = chunk.tokens;
  const last = tokens[tokens.length - 1];
  const chunkEnd = last ? last.startOffset + last.image.length : 0;
  const atEnd = !e.token || e.token.tokenType === EOF || !Number.isFinite(e.token.startOffset);
  // At the end of a chunk the parser sees EOF; the user sees the next declaration.
  const found = atEnd ? (chunk.next ? quoteSource(chunk.next.image) : "end of file") : foundText(e.token);
  const start = atEnd ? chunkEnd : e.token.startOffset;
  const end = atEnd ? chunkEnd : e.token.startOffset + e.token.image.length;
  const rule = e.context?.ruleStack?.[e.context.ruleStack.length - 1] ?? "";
  const declLabel = chunkLabel(tokens);
  const expected = e.message || "something else";
  const where = declLabel ? ` in \`${declLabel}\`` : "";
  const foundTok = atEnd ? undefined : e.token;
  const err = (problem: Message): SyntaxError => ({ atEnd, start, end, problem });
  const E = DIAG.unexpectedToken;

  if (e.name === "NotAllInputParsedException") {
    return err(E.trailing(found, declLabel, suggestKeyword(foundTok, DECLARATION_KEYWORDS)));
  }
  if (expected === "a declaration") {
    return err(E.expectedDeclaration(found, suggestKeyword(foundTok, DECLARATION_KEYWORDS)));
  }
  if (e.name === "MismatchedTokenException") {
    if (foundTok && isKeyword(foundTok) && (rule === "fieldsBlock" || rule === "entityDecl") && tokens[tokens.indexOf(foundTok) + 1]?.tokenType === T.Colon) {
      return err(E.keywordAsName(found, rule === "fieldsBlock" ? keywordField(tokens, foundTok) : undefined)); // `entity: string`: a field named like a keyword
    }
    if (expected === "`}`" && BODY_ITEMS[rule] !== undefined) {
      const block = rule === "fieldsBlock" ? `\`fields\`${where}` : `\`${declLabel ?? rule}\``;
      if (atEnd) return err(E.unclosedBlock(block, found));
      const hint = rule === "viewDecl" && foundTok?.tokenType === T.Comma && afterJoinClause(tokens, foundTok) ? JOIN_CLAUSE_HINT : undefined;
      return err(E.unexpectedInBlock(found, block, BODY_ITEMS[rule], hint ?? suggestKeyword(foundTok, candidateKeywords(expected, rule, true))));
    }
    if (rule === "featureGroupDecl" && foundTok?.tokenType === T.By) {
      return err(E.expected(expected, "", found, groupKeyColumnsHint(tokens, foundTok)));
    }
    if ((expected === "`)`" || expected === "`]`") && LIST_RULES.has(rule)) {
      return err(E.unclosedList(expected, found));
    }
  }
  if (expected === "a name" && !atEnd && isKeyword(e.token)) {
    const column = rule === "fieldDecl" && tokens[tokens.indexOf(e.token) + 1]?.tokenType === T.Colon;
    return err(E.keywordAsName(found, column ? keywordField(tokens, e.token) : undefined));
  }
  const prev = (e as { previousToken?: IToken }).previousToken;
  const after =
    expected === "an expression" && prev && Number.isFinite(prev.startOffset) && prev.tokenType !== EOF
      ? ` after ${quoteSource(prev.image)}`
      : "";
  return err(E.expected(expected, after, found, suggestKeyword(foundTok, candidateKeywords(expected, rule, false))));
}

// ---------------------------------------------------------------- parse

/**
 * Whether a lexical problem in this declaration probably caused its syntax
 * error: any problem before the error, or an unterminated string or comment
 * anywhere in the declaration (they swallow the text the parser needed).
 */
function lexicalCause(problems: T.LexProblem[], from: number, errorAt: number, chunkLimit: number): boolean {
  for (let i = from; i < problems.length && problems[i].start < chunkLimit; i++) {
    const p = problems[i];
    if (p.start <= errorAt || p.code === DIAG.unterminatedString.code || p.code === DIAG.unterminatedComment.code) return true;
  }
  return false;
}

/** Parses one declaration's tokens: chevrotain's errors, its CST, or the exception it threw. */
function runParser(tokens: IToken[]): { cst?: CstNode; errors: IRecognitionException[]; internal?: unknown } {
  const parser = getParser();
  // Chevrotain reports errors as exceptions; capturing their (unused) stack
  // traces is about half the cost of a syntax error, so turn that off here.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    parser.input = tokens;
    const cst = parser.declaration();
    return { cst, errors: parser.errors };
  } catch (e) {
    if (e instanceof TooManyErrors) return { cst: e.partial, errors: parser.errors };
    return { errors: parser.errors, internal: e };
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
    parser.input = [];
  }
}

function detail(e: unknown): string {
  return String((e as Error)?.message ?? e);
}

/** What one file's parse shares across its declarations. */
interface FileParse {
  file: string;
  lines: LineMap;
  problems: T.LexProblem[];
  diagnostics: Diagnostic[];
  decls: Decl[];
  imports: ImportDecl[];
  /** What the fast path (direct.ts) reads with: positions only, it reports nothing. */
  direct: ToAstContext;
  /** Whether the fast path may be tried (off only to compare it with the chevrotain path). */
  useDirect: boolean;
}

/** Whether a lexical problem lies in the declaration (it then goes the chevrotain path, which relates the two). */
function hasLexProblem(problems: T.LexProblem[], from: number, chunkLimit: number): boolean {
  return from < problems.length && problems[from].start < chunkLimit;
}

/** Parses one declaration and reads it into the AST; at most one FTI1001 per declaration. */
function parseChunk(f: FileParse, chunk: Chunk, problemIdx: number): void {
  const tooDeep = findTooDeep(chunk.tokens);
  const chunkLimit = chunk.next?.startOffset ?? Infinity;
  if (!tooDeep && f.useDirect && !hasLexProblem(f.problems, problemIdx, chunkLimit)) {
    // Most declarations are valid: read those straight into the AST (direct.ts).
    const decl = readDirect(chunk.tokens, f.direct);
    if (decl) return keep(f, decl);
  }
  const report = (start: number, end: number, m: Message): void => void f.diagnostics.push(diagnostic(f.file, f.lines.range(start, end), m));
  const first = chunk.tokens[0];
  const atFirst = (m: Message) => report(first.startOffset, first.startOffset + first.image.length, m);
  if (tooDeep) return report(tooDeep.startOffset, tooDeep.startOffset + tooDeep.image.length, DIAG.nestingTooDeep.expression(MAX_NESTING));

  const { cst, errors, internal } = runParser(chunk.tokens);
  if (internal !== undefined) {
    return atFirst(internal instanceof RangeError ? DIAG.nestingTooDeep.declaration() : DIAG.unexpectedToken.internalParse(detail(internal)));
  }

  let reported = false;
  if (errors[0]) {
    reported = true;
    const se = describeError(errors[0], chunk);
    // A lexical error earlier in the same declaration (a dropped character,
    // a string that ate the rest of the line) usually *is* the cause.
    if (!lexicalCause(f.problems, problemIdx, se.atEnd ? chunkLimit : se.start, chunkLimit)) report(se.start, se.end, se.problem);
  }
  if (!cst) return;

  const astErrors: Array<{ start: number; end: number; problem: Message }> = [];
  const ctx: ToAstContext = {
    pos: (o) => f.lines.pos(o),
    error: (start, end, problem) => void astErrors.push({ start, end, problem }),
  };
  try {
    const decl = declarationToAst(cst, ctx);
    if (astErrors[0] && !reported) {
      reported = true;
      report(astErrors[0].start, astErrors[0].end, astErrors[0].problem);
    }
    if (decl) keep(f, decl);
  } catch (e) {
    // Never expected (the nesting pre-scan bounds recursion); keep going with
    // the other declarations.
    if (e instanceof RangeError) atFirst(DIAG.nestingTooDeep.declaration());
    else if (!reported) atFirst(DIAG.unexpectedToken.internalRead(detail(e)));
  }
}

/** Adds a parsed declaration, its expressions cut to MAX_EXPR_DEPTH (expr-depth.ts). */
function keep(f: FileParse, decl: Decl | ImportDecl): void {
  const tooDeep = capExpressionDepth(decl);
  if (tooDeep) f.diagnostics.push(diagnostic(f.file, tooDeep, DIAG.nestingTooDeep.expression(MAX_EXPR_DEPTH)));
  if (decl.kind === "import") f.imports.push(decl);
  else f.decls.push(decl);
}

function parseUnsafe(text: string, file: string, opts: ParseOptions): ParseResult {
  const { tokens, problems } = T.lex(text);
  const lines = new LineMap(text);
  const direct: ToAstContext = { pos: (o) => lines.pos(o), error: () => undefined };
  const f: FileParse = { file, lines, problems, diagnostics: [], decls: [], imports: [], direct, useDirect: opts.direct !== false };
  for (const p of problems) f.diagnostics.push(diagnostic(file, f.lines.range(p.start, p.end), p));
  // A file whose only text is an unterminated comment (or characters that are no token) is not empty: its error says why.
  if (tokens.length === 0 && problems.length === 0) f.diagnostics.push(diagnostic(file, f.lines.range(0, 0), DIAG.emptySpec.noDeclarations()));

  let problemIdx = 0;
  for (const chunk of splitDeclarations(tokens)) {
    const chunkStart = chunk.tokens[0].startOffset;
    while (problemIdx < problems.length && problems[problemIdx].start < chunkStart) problemIdx++;
    parseChunk(f, chunk, problemIdx);
  }
  return {
    program: { file, decls: f.decls, imports: f.imports },
    diagnostics: sortDiagnostics(f.diagnostics).slice(0, MAX_SYNTAX_DIAGNOSTICS),
  };
}

/**
 * Parses one .fti file. Never throws: syntax problems come back as FTI1xxx
 * diagnostics and the program holds every declaration that could be read.
 */
export function parse(text: string, file: string, opts: ParseOptions = {}): ParseResult {
  try {
    return parseUnsafe(typeof text === "string" ? text : String(text), file, opts);
  } catch (e) {
    const start = { offset: 0, line: 1, column: 1 };
    return {
      program: { file, decls: [], imports: [] },
      diagnostics: [diagnostic(file, { start, end: start }, DIAG.unexpectedToken.internalParser(detail(e)))],
    };
  }
}
