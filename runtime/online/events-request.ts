// An events request's body (`POST /v1/sources/<source>/events`) → its events,
// or the 400/413 about its shape; the events themselves are validated by the
// stream (stream/service.ts ingest).

import { capKey, echo } from "../request-issues.ts";
import { apiError } from "./api-error.ts";
import type { LocalResponse } from "./types.ts";

/** Most events one request may carry (the body limit usually bites first). */
export const MAX_EVENTS = 100_000;

/**
 * The events of a body: one event (an object), or several (an array, or NDJSON
 * lines, which arrive as an array). `batch`: each event's issues carry its index.
 */
export function eventsOf(body: unknown): { events: unknown[]; batch: boolean } | LocalResponse {
  const batch = Array.isArray(body);
  const events = batch ? (body as unknown[]) : [body];
  if (events.length === 0) return apiError(400, "invalid_events", "no events: send an event object, an array of them, or NDJSON lines");
  const wrapper = wrappedEvents(body);
  if (wrapper !== null) {
    return apiError(400, "invalid_events", `the body is an object whose one field ${echo(wrapper)} holds an array: send the events themselves, an event object, an array of them, or NDJSON lines`, [
      { path: [capKey(wrapper)], message: "an array of events inside an object; post the array itself" },
    ]);
  }
  if (events.length > MAX_EVENTS) return apiError(413, "too_many_events", `at most ${MAX_EVENTS} events per request, got ${events.length}`);
  return { events, batch };
}

/**
 * The key of a body that wraps its events in an object (`{"events": [...]}`, `{"records": [...]}`, as
 * other APIs take them), or null. One field holding an array of objects is never an event (an event's
 * values are scalars, or a vector's numbers); it was answered as one event with an unknown field and
 * every field missing (the newuser lane's first push of a month of unemployment rows).
 */
function wrappedEvents(body: unknown): string | null {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return null;
  const keys = Object.keys(body);
  if (keys.length !== 1) return null;
  const v = (body as Record<string, unknown>)[keys[0]];
  return Array.isArray(v) && v.length > 0 && v.every((e) => e !== null && typeof e === "object" && !Array.isArray(e)) ? keys[0] : null;
}
