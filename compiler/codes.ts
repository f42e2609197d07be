// Every diagnostic code, with a one-line title. docs/language.md documents
// each with an example, and test/fixtures/diagnostics/ holds one fixture per
// code (a test checks that the three agree).

export const CODES = {
  // 1xxx syntax
  1001: "unexpected token",
  1002: "unterminated string literal",
  1003: "unterminated block comment",
  1004: "invalid character",
  1005: "invalid escape sequence",
  1006: "invalid number, duration or date literal",
  1007: "nesting too deep",
  1008: "empty spec (warning)",
  // 2xxx names
  2001: "duplicate declaration",
  2002: "unknown name",
  2003: "unknown declaration",
  2004: "declaration of the wrong kind",
  2005: "dependency cycle",
  2006: "unknown feature of a group",
  2007: "duplicate field, feature or transform",
  2008: "unused declaration (warning)",
  2009: "module or file not found",
  2010: "qualified name in an expression",
  2011: "feature shadows an input column",
  2012: "unknown option value",
  2013: "unknown declaration in an extern module",
  2014: "missing required clause",
  2015: "path outside the project",
  // 3xxx types
  3001: "unknown type",
  3002: "type mismatch",
  3003: "wrong number of arguments",
  3004: "argument type mismatch",
  3005: "nullable column where a value is required",
  3006: "body type differs from the declared type",
  3007: "condition is not bool",
  3008: "extern signature differs from its TypeScript declaration",
  3009: "literal type differs from the field type",
  3010: "invalid hyperparameter",
  3011: "duration expected",
  // 4xxx transformation rules and leakage
  4001: "windowed aggregation outside a feature group",
  4002: "on-demand transformation used in a feature group",
  4003: "windowed aggregation nested in an expression",
  4004: "unknown model-dependent transformation",
  4005: "model-dependent transformation outside a model",
  4006: "transformation does not fit the input's type",
  4007: "input can be missing and the model cannot take missing values",
  4008: "label leakage through a feature",
  4009: "label leakage through a request field",
  4010: "window does not look back",
  4011: "entity key missing from the input",
  4012: "feature of another entity",
  4013: "column missing from the label source",
  4014: "algorithm does not fit the task",
  4015: "invalid split",
  4016: "unknown or unsuitable metric",
  4017: "serve declares nothing to serve",
  4018: "ODT reads a feature the view does not have",
  4019: "aggregation argument of the wrong kind",
  // 5xxx code generation
  5001: "generated code does not type-check (compiler bug)",
  5002: "cannot write generated code",
} as const;

export type Code = keyof typeof CODES;
