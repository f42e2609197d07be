// What a generated module imports, recorded while its code is built (never
// found by scanning the printed text). Runtime exports are referenced through
// one namespace, `$rt.name`: fti names are [A-Za-z_][A-Za-z0-9_]*, so no
// user declaration, parameter or column can shadow or collide with it (a
// user `fn sub` next to the runtime's `sub` helper). Sibling modules are
// imported by name; the spec's declarations share one namespace, so their
// names are unique across the generated files.

import type { GeneratedFile } from "./context.ts";

/** The runtime's public API (runtime/api.ts), the only runtime module generated code imports. */
export const RUNTIME_MODULE = "fti/runtime";
/** The namespace generated code reads the runtime through. */
export const RUNTIME_NS = "$rt";

export class Imports {
  private runtime = false;
  /** runtime names imported by name: name -> type-only */
  private readonly runtimeNamed = new Map<string, boolean>();
  /** sibling file -> imported name -> type-only */
  private readonly siblings = new Map<GeneratedFile, Map<string, boolean>>();

  /** `$rt.name`: a value or type of the runtime API. */
  rt(name: string): string {
    this.runtime = true;
    return `${RUNTIME_NS}.${name}`;
  }

  /**
   * `name`, imported from the runtime by name. Only for a module whose every
   * own name follows a fixed pattern that cannot spell a runtime export
   * (client.ts: `predict<Model>`, `<Model>Instance`, ...), where the
   * signatures users read should say `ClientOptions`, not `$rt.ClientOptions`.
   */
  rtNamed(name: string, opts: { type?: boolean } = {}): string {
    this.runtimeNamed.set(name, (this.runtimeNamed.get(name) ?? true) && (opts.type ?? false));
    return name;
  }

  /** `name`, imported from a sibling generated module (`type` for a type-only import). */
  from(file: GeneratedFile, name: string, opts: { type?: boolean } = {}): string {
    let names = this.siblings.get(file);
    if (!names) this.siblings.set(file, (names = new Map()));
    const typeOnly = opts.type ?? false;
    names.set(name, (names.get(name) ?? true) && typeOnly);
    return name;
  }

  /** module path (another spec's generated module, `../common/features.ts`) -> imported name -> type-only */
  private readonly others = new Map<string, Map<string, boolean>>();

  /** `name`, imported from the generated module of an imported spec (its names are unique too: checker/imports.ts). */
  fromModule(modulePath: string, name: string, opts: { type?: boolean } = {}): string {
    let names = this.others.get(modulePath);
    if (!names) this.others.set(modulePath, (names = new Map()));
    names.set(name, (names.get(name) ?? true) && (opts.type ?? false));
    return name;
  }

  /** The import declarations: runtime first, then other specs' modules, then siblings in the order generated files are listed. */
  statements(order: readonly GeneratedFile[]): string[] {
    const out: string[] = [];
    if (this.runtime) out.push(`import * as ${RUNTIME_NS} from "${RUNTIME_MODULE}";`);
    if (this.runtimeNamed.size) out.push(namedImport(this.runtimeNamed, RUNTIME_MODULE));
    for (const [from, names] of [...this.others].sort(([a], [b]) => a.localeCompare(b))) out.push(namedImport(names, from));
    for (const file of order) {
      const names = this.siblings.get(file);
      if (names?.size) out.push(namedImport(names, `./${file}`));
    }
    return out;
  }
}

function namedImport(names: Map<string, boolean>, from: string): string {
  const allTypes = [...names.values()].every(Boolean);
  const list = [...names].map(([n, typeOnly]) => (typeOnly && !allTypes ? `type ${n}` : n));
  return `import ${allTypes ? "type " : ""}{ ${list.join(", ")} } from "${from}";`;
}
