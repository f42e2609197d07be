// The shape of one problem with a request, in a file of its own: online/types.ts (part of the
// generated client's types, "fti/runtime") names it without loading request-issues.ts and zod.

/** One problem with a request: the JSON path of the offending value, e.g. ["instances", 2, "distance_km"]. */
export interface ApiIssue {
  path: Array<string | number>;
  message: string;
}
