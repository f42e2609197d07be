// The part of zod's API that generated modules and the runtime API they import
// use, with the same types for that part: what `fti compile` type-checks the
// generated modules against instead of zod's own declarations (230 kB of
// .d.cts whose generics cost most of a cold compile's type-check). Not used at
// run time: the generated code runs on the real zod.
//
// Kept honest by test/check-lib.test.ts: every generated module of specs/ and
// of the test specs type-checks against the real declarations as well, code
// that misuses this API is rejected by both, and the output types below
// (`infer`) equal zod's for every schema shape the emitters produce.

declare namespace z {
  export interface RefinementCtx<T = unknown> {
    value: T;
    /** The issues found so far (zod's parse payload): the refinement of a request reads which fields failed. */
    issues: Array<{ code?: string; path?: PropertyKey[] }>;
    addIssue(issue: { code: "custom"; path?: PropertyKey[]; message?: string; input?: unknown }): void;
  }

  export interface ZodType<Output = unknown, Input = unknown, Optional extends boolean = boolean> {
    /** Type-level only: the parsed value's type, and whether an object's key may be missing. */
    readonly _zod: { output: Output; input: Input; optional: Optional };
    parse(data: unknown): Output;
    safeParse(data: unknown): { success: true; data: Output; error?: never } | { success: false; data?: never; error: ZodError };
    nullable(): ZodNullable<this>;
    optional(): ZodOptional<this>;
    superRefine(refinement: (arg: Output, ctx: RefinementCtx<Output>) => void | Promise<void>, params?: { when?: (payload: { value: unknown }) => boolean }): this;
    transform<N>(fn: (arg: Output, ctx: RefinementCtx<Output>) => N | Promise<N>): ZodType<N, Input, false>;
  }

  export interface ZodError {
    issues: Array<{ code: string; path: PropertyKey[]; message: string }>;
    message: string;
  }

  export interface ZodNumber extends ZodType<number, number, false> {
    int(): ZodNumber;
    min(value: number): ZodNumber;
    max(value: number): ZodNumber;
  }
  export interface ZodString extends ZodType<string, string, false> {
    min(length: number): ZodString;
    max(length: number): ZodString;
  }
  export interface ZodBoolean extends ZodType<boolean, boolean, false> {}
  export interface ZodDate extends ZodType<Date, unknown, false> {}
  export interface ZodEnum<T extends readonly string[]> extends ZodType<T[number], T[number], false> {}
  export interface ZodArray<T extends ZodType> extends ZodType<Array<output<T>>, Array<input<T>>, false> {
    min(length: number): ZodArray<T>;
    max(length: number): ZodArray<T>;
    length(length: number): ZodArray<T>;
  }
  export interface ZodUnion<T extends readonly ZodType[]> extends ZodType<output<T[number]>, input<T[number]>, false> {}
  export interface ZodNullable<T extends ZodType> extends ZodType<output<T> | null, input<T> | null, false> {}
  export interface ZodOptional<T extends ZodType> extends ZodType<output<T> | undefined, input<T> | undefined, true> {}

  // Loose, as zod's own ($ZodLooseShape): any value is accepted, a non-schema's output is unknown.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  export type ZodRawShape = { readonly [k: string]: any };
  export type OptionalKeys<S extends ZodRawShape> = { [K in keyof S]: S[K] extends { readonly _zod: { optional: true } } ? K : never }[keyof S];
  export type Flatten<T> = { [K in keyof T]: T[K] } & {};
  export type ObjectOutput<S extends ZodRawShape> = Flatten<
    { -readonly [K in Exclude<keyof S, OptionalKeys<S>>]: output<S[K]> } & { -readonly [K in OptionalKeys<S>]?: output<S[K]> }
  >;
  export type ObjectInput<S extends ZodRawShape> = Flatten<
    { -readonly [K in Exclude<keyof S, OptionalKeys<S>>]: input<S[K]> } & { -readonly [K in OptionalKeys<S>]?: input<S[K]> }
  >;
  export interface ZodObject<S extends ZodRawShape = ZodRawShape> extends ZodType<ObjectOutput<S>, ObjectInput<S>, false> {
    shape: S;
    extend<E extends ZodRawShape>(shape: E): ZodObject<Flatten<Omit<S, keyof E> & E>>;
  }

  export type output<T> = T extends { readonly _zod: { output: infer O } } ? O : unknown;
  export type input<T> = T extends { readonly _zod: { input: infer I } } ? I : unknown;
  export type infer<T> = output<T>;

  export function number(): ZodNumber;
  export function string(): ZodString;
  export function boolean(): ZodBoolean;
  export function date(): ZodType<Date, Date, false>;
  export function union<const T extends readonly ZodType[]>(options: T, params?: { error?: (issue: { input?: unknown }) => string }): ZodUnion<T>;
  export const NEVER: never;
  export function array<T extends ZodType>(element: T): ZodArray<T>;
  export function object<S extends ZodRawShape>(shape: S): ZodObject<S>;
  export function strictObject<S extends ZodRawShape>(shape: S): ZodObject<S>;
  export function _enum<const T extends readonly string[]>(values: T): ZodEnum<T>;
  export { _enum as enum };
  export const coerce: { date(): ZodDate };
  export function toJSONSchema(schema: ZodType, params?: {
    unrepresentable?: "throw" | "any";
    io?: "input" | "output";
    override?: (ctx: { zodSchema: unknown; jsonSchema: Record<string, unknown> }) => void;
  }): unknown;
}

export { z };
