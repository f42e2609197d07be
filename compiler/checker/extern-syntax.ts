// The fast path of the `extern fn` check: a function whose signature is
// written out in the simple types fti maps (number, string, boolean, Date,
// number[] / Float32Array / Float64Array, null, undefined, unions of these)
// has those types whatever the ES library or its imports say, so they can be
// read from the syntax alone, without a TypeScript program (whose ES library
// costs a large part of a cold compile). Anything else — an inferred return
// type, an alias, an import, overloads, optional or rest parameters, a
// shadowed `Date`, a syntax error — answers `undefined`: the checker decides
// (extern-inspect.ts).

import type { ts as TS } from "ts-morph";
import type { MappedType } from "./extern-types.ts";

export interface SyntacticSignature {
  params: Array<{ name: string; type: MappedType; text: string }>;
  returns: { type: MappedType; text: string };
}

/** Global names whose meaning a module could change: a signature using them then needs the checker. */
const SHADOWABLE = new Set(["Date", "Float32Array", "Float64Array", "Array", "ReadonlyArray"]);

export function syntacticSignature(ts: typeof TS, text: string, name: string): SyntacticSignature | undefined {
  const sf = ts.createSourceFile("extern.ts", text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  if ((sf as unknown as { parseDiagnostics: unknown[] }).parseDiagnostics.length) return undefined;
  const fn = theExportedFunction(ts, sf, name);
  if (!fn?.type) return undefined;
  const params: SyntacticSignature["params"] = [];
  for (const p of fn.parameters) {
    if (!ts.isIdentifier(p.name) || p.name.text === "this" || p.dotDotDotToken || p.questionToken || p.initializer || !p.type) return undefined;
    const type = mapTypeNode(ts, p.type);
    if (!type) return undefined;
    params.push({ name: p.name.text, type, text: p.type.getText(sf) });
  }
  const returns = mapTypeNode(ts, fn.type);
  return returns ? { params, returns: { type: returns, text: fn.type.getText(sf) } } : undefined;
}

/** The one top-level `export function <name>(…): T { … }`, when nothing else in the module could change what it means. */
function theExportedFunction(ts: typeof TS, sf: TS.SourceFile, name: string): TS.FunctionDeclaration | undefined {
  let found: TS.FunctionDeclaration | undefined;
  for (const st of sf.statements) {
    if (ts.isModuleDeclaration(st)) return undefined; // `declare global`, augmentations
    for (const declared of declaredNames(ts, st)) {
      if (SHADOWABLE.has(declared)) return undefined;
      if (declared !== name) continue;
      if (found || !ts.isFunctionDeclaration(st)) return undefined;
      found = st;
    }
    if (ts.isExportDeclaration(st) && st.exportClause && ts.isNamedExports(st.exportClause) && st.exportClause.elements.some((e) => e.name.text === name)) return undefined;
  }
  if (!found?.body || found.asteriskToken || found.typeParameters) return undefined;
  const mods = ts.getModifiers(found) ?? [];
  const exported = mods.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
  const other = mods.some((m) => m.kind !== ts.SyntaxKind.ExportKeyword);
  return exported && !other ? found : undefined;
}

/** The names a top-level statement binds in the module's scope. */
function declaredNames(ts: typeof TS, st: TS.Statement): string[] {
  if (ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st) || ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st) || ts.isEnumDeclaration(st)) {
    return st.name ? [st.name.text] : [];
  }
  if (ts.isVariableStatement(st)) return st.declarationList.declarations.flatMap((d) => bindingNames(ts, d.name));
  if (ts.isImportEqualsDeclaration(st)) return [st.name.text];
  if (ts.isImportDeclaration(st)) {
    const c = st.importClause;
    if (!c) return [];
    const names = c.name ? [c.name.text] : [];
    if (c.namedBindings) {
      if (ts.isNamespaceImport(c.namedBindings)) names.push(c.namedBindings.name.text);
      else for (const e of c.namedBindings.elements) names.push(e.name.text);
    }
    return names;
  }
  return [];
}

function bindingNames(ts: typeof TS, n: TS.BindingName): string[] {
  if (ts.isIdentifier(n)) return [n.text];
  return n.elements.flatMap((e) => (ts.isOmittedExpression(e) ? [] : bindingNames(ts, e.name)));
}

/** What a written type means to fti (as extern-types.ts maps a checker's type), or undefined: not one of the simple forms. */
function mapTypeNode(ts: typeof TS, node: TS.TypeNode): MappedType | undefined {
  const bases = new Set<string>();
  let nullable = false;
  const visit = (n: TS.TypeNode): boolean => {
    if (ts.isParenthesizedTypeNode(n)) return visit(n.type);
    if (ts.isUnionTypeNode(n)) return n.types.every(visit);
    switch (n.kind) {
      case ts.SyntaxKind.NumberKeyword:
        bases.add("float").add("int");
        return true;
      case ts.SyntaxKind.StringKeyword:
        bases.add("string");
        return true;
      case ts.SyntaxKind.BooleanKeyword:
        bases.add("bool");
        return true;
      case ts.SyntaxKind.UndefinedKeyword:
        nullable = true;
        return true;
    }
    if (ts.isLiteralTypeNode(n) && n.literal.kind === ts.SyntaxKind.NullKeyword) return (nullable = true);
    if (isNumberArray(ts, n)) return !!bases.add("vector");
    if (ts.isTypeReferenceNode(n) && ts.isIdentifier(n.typeName) && !n.typeArguments) {
      const ref = n.typeName.text;
      if (ref === "Date") return !!bases.add("timestamp");
      if (ref === "Float32Array" || ref === "Float64Array") return !!bases.add("vector");
    }
    return false;
  };
  if (!visit(node)) return undefined;
  // A lone `null`: no base, as the checker's mapping has it.
  return { bases: [...bases], nullable };
}

/** `number[]`, `readonly number[]`, `Array<number>`, `ReadonlyArray<number>`. */
function isNumberArray(ts: typeof TS, n: TS.TypeNode): boolean {
  if (ts.isTypeOperatorNode(n) && n.operator === ts.SyntaxKind.ReadonlyKeyword) return isNumberArray(ts, n.type);
  if (ts.isArrayTypeNode(n)) return n.elementType.kind === ts.SyntaxKind.NumberKeyword;
  if (ts.isTypeReferenceNode(n) && ts.isIdentifier(n.typeName) && (n.typeName.text === "Array" || n.typeName.text === "ReadonlyArray")) {
    return n.typeArguments?.length === 1 && n.typeArguments[0].kind === ts.SyntaxKind.NumberKeyword;
  }
  return false;
}
