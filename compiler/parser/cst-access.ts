// Reading chevrotain's CST: typed access to a node's children (`tok`, `node`, …
// take only the child keys of the node's type in cst.ts), and the tokens that
// are real (not inserted by error recovery) with their offsets.

import type { CstElement, CstNode, IToken } from "chevrotain";

function isToken(e: CstElement): e is IToken {
  return (e as IToken).image !== undefined && (e as IToken).tokenType !== undefined;
}


// Typed access: a node's child keys are those of its generated CST type (cst.ts),
// so a misspelt or stale key is a compile error.
type ChildrenOf<N> = N extends { children: infer C } ? C : never;
export type Key<N> = keyof ChildrenOf<N> & string;
type ChildNode<N, K extends Key<N>> = NonNullable<ChildrenOf<N>[K]> extends Array<infer T> ? Exclude<T, IToken> : never;

function children(n: CstNode | undefined, key: string): CstElement[] | undefined {
  return n?.children[key];
}

export function toks<N extends CstNode>(n: N | undefined, key: Key<N>): IToken[] {
  const c = children(n, key);
  return c ? c.filter(isToken) : [];
}

/** The i-th token under `key` (no allocation: this is the hot path). */
export function tok<N extends CstNode>(n: N | undefined, key: Key<N>, i = 0): IToken | undefined {
  const c = children(n, key);
  if (!c) return undefined;
  for (const e of c) {
    if (isToken(e) && i-- === 0) return e;
  }
  return undefined;
}

export function nodes<N extends CstNode, K extends Key<N>>(n: N | undefined, key: K): Array<ChildNode<N, K>> {
  const c = children(n, key);
  return c ? (c.filter((e) => !isToken(e)) as Array<ChildNode<N, K>>) : [];
}

/** The i-th child node under `key`. */
export function node<N extends CstNode, K extends Key<N>>(n: N | undefined, key: K, i = 0): ChildNode<N, K> | undefined {
  const c = children(n, key);
  if (!c) return undefined;
  for (const e of c) {
    if (!isToken(e) && i-- === 0) return e as ChildNode<N, K>;
  }
  return undefined;
}

export function isReal(t: IToken | undefined): t is IToken {
  return t !== undefined && !t.isInsertedInRecovery && Number.isFinite(t.startOffset);
}

export function tokEnd(t: IToken): number {
  return t.startOffset + t.image.length;
}

/** Offsets of the first and last real token under `n` (iterative), or undefined when it has none. */
export function nodeSpan(n: CstNode | undefined): [number, number] | undefined {
  if (!n) return undefined;
  let lo = Infinity;
  let hi = -Infinity;
  const stack: CstNode[] = [n];
  while (stack.length) {
    const cur = stack.pop()!;
    for (const key in cur.children) {
      for (const e of cur.children[key]) {
        if (isToken(e)) {
          if (isReal(e)) {
            if (e.startOffset < lo) lo = e.startOffset;
            if (tokEnd(e) > hi) hi = tokEnd(e);
          }
        } else {
          stack.push(e);
        }
      }
    }
  }
  return lo === Infinity ? undefined : [lo, hi];
}
