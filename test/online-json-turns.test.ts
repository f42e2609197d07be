// The large-body JSON parse of `fti serve` (runtime/online/json-turns.ts): a
// body over BODY_CHARS_PER_TURN characters is parsed a slice per turn of the
// event loop, and must give exactly what parseJsonBody gives (the value, or
// the same error with the same position) for any body.

import { describe, expect, it } from "vitest";
import { BodyError, parseJsonBody, parseNdjsonBody } from "../runtime/online/json-body.ts";
import { BODY_CHARS_PER_TURN, parseJsonBodyInTurns, parseNdjsonBodyInTurns } from "../runtime/online/json-turns.ts";
import { countingLoopTurns } from "./helpers/event-loop.ts";

/** The outcome of a parse: the value, or the error's class, code, message and issues. */
async function outcome(parse: () => unknown): Promise<unknown> {
  try {
    return { value: await parse() };
  } catch (e) {
    const b = e as BodyError;
    return { error: [b instanceof BodyError, b.code, b.message, b.issues] };
  }
}

async function sameAsWhole(text: string): Promise<unknown> {
  const whole = await outcome(() => parseJsonBody(text));
  expect(await outcome(() => parseJsonBodyInTurns(text))).toEqual(whole);
  return whole;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

/** A 10,000-instance request whose strings carry quotes, backslashes, brackets and commas. */
function bigRequest(): { instances: Array<Record<string, unknown>> } {
  const r = rng(3);
  const tricky = ['a"b', "c\\", "[,]", "{}", '\\"', "é😀", ",", "]"];
  return {
    instances: Array.from({ length: 10_000 }, (_, i) => ({
      athlete_id: `a${i}${tricky[i % tricky.length]}`,
      distance_km: Math.round(r() * 4200) / 100,
      tags: i % 3 === 0 ? [1, [2, { x: "]" }]] : [],
      nested: { deep: [[i]] },
    })),
  };
}

describe("parseJsonBodyInTurns", () => {
  it("a large batch request: the same value as one JSON.parse, with turns of the event loop while parsing", async () => {
    const body = bigRequest();
    const text = JSON.stringify(body, null, 2);
    expect(text.length).toBeGreaterThan(4 * BODY_CHARS_PER_TURN);
    const { value, turns } = await countingLoopTurns(() => parseJsonBodyInTurns(text));
    expect(value).toEqual(body);
    expect(Object.keys(value as object)).toEqual(["instances"]);
    // a turn per BODY_CHARS_PER_TURN characters scanned, and one per run of elements parsed (each run is
    // at least BODY_CHARS_PER_TURN characters and less than that plus one element): the elements were
    // parsed in runs, not in one JSON.parse of the whole body
    const slices = Math.floor(text.length / (BODY_CHARS_PER_TURN + 1000));
    expect(turns).toBeGreaterThanOrEqual(2 * slices - 2);
  });

  it("other shapes: a top-level array, several arrays and other members, duplicate keys (last wins), empty arrays", async () => {
    const el = (i: number) => ({ id: `e${i}`, v: i / 3 });
    const many = Array.from({ length: 5000 }, (_, i) => el(i));
    await sameAsWhole(JSON.stringify(many));
    const obj = (await sameAsWhole(JSON.stringify({ model: "m", a: many, n: 1, b: [], c: { d: many.slice(0, 10) }, e: many }))) as { value: unknown };
    expect(obj.value).toEqual({ model: "m", a: many, n: 1, b: [], c: { d: many.slice(0, 10) }, e: many });
    const dup = `{"instances": ${JSON.stringify(many)}, "instances": [1, 2]}`;
    expect(((await sameAsWhole(dup)) as { value: { instances: unknown } }).value.instances).toEqual([1, 2]);
    await sameAsWhole(`  \n{"instances": [ ${JSON.stringify(many).slice(1, -1)} ] , "x": [ ] }\n `);
    await sameAsWhole(JSON.stringify({ s: "x".repeat(BODY_CHARS_PER_TURN * 2) }));
    await sameAsWhole(JSON.stringify("x".repeat(BODY_CHARS_PER_TURN * 2)));
  });

  it("a malformed large body gives the error (and position) of one JSON.parse", async () => {
    const good = JSON.stringify({ instances: Array.from({ length: 5000 }, (_, i) => ({ id: `e${i}`, v: i })) });
    const mid = Math.floor(good.length / 2);
    const cases = [
      good.slice(0, -1), // unclosed
      good + "x", // trailing garbage
      good.replace('"v":2500', '"v":'), // a missing value
      good.replace('{"id":"e2500"', ',{"id":"e2500"'), // an empty element
      good.replace("]}", ",]}"), // a trailing comma
      good.replace('"v":4999}]}', '"v":4999}}}'), // the array closed by a brace
      good.slice(0, mid) + "\\" + good.slice(mid), // a stray backslash
      good.slice(0, mid) + '"' + good.slice(mid), // a stray quote
      "[" + good, // unbalanced
      good.replace('"e4000"', '"e4\u0001000"'), // a control character in a string
      good.replace("[", "[,"),
    ];
    for (const text of cases) {
      const r = (await sameAsWhole(text)) as { error?: unknown[] };
      expect(r.error?.[1]).toBe("invalid_json");
    }
  });

  it("a large body with __proto__ (anywhere) is refused at its path, as before", async () => {
    const instances = Array.from({ length: 5000 }, (_, i) => ({ id: `e${i}` }));
    const text = JSON.stringify({ instances }).replace('{"id":"e4321"}', '{"id":"e4321","__proto__":{"x":1}}');
    const r = (await sameAsWhole(text)) as { error: unknown[] };
    expect(r.error[1]).toBe("invalid_request");
    expect(r.error[3]).toEqual([{ path: ["instances", 4321, "__proto__"], message: 'field "__proto__" is not allowed' }]);
  });

  it("random bodies, valid and broken: always the outcome of one JSON.parse", async () => {
    const r = rng(11);
    const atoms = ["1", "-2.5e3", '"s"', '"a\\"]"', "true", "null", "[]", "{}", '{"k":[1,2]}', '"\\\\"'];
    for (let round = 0; round < 30; round++) {
      const n = 15_000 + Math.floor(r() * 15_000); // over BODY_CHARS_PER_TURN characters: the sliced parse
      const els = Array.from({ length: n }, () => atoms[Math.floor(r() * atoms.length)]);
      let text = r() < 0.5 ? `{"instances":[${els.join(",")}],"z":0}` : `[${els.join(", ")}]`;
      if (round % 2 === 1) {
        // break one character somewhere
        const at = Math.floor(r() * text.length);
        const ch = [",", "]", "}", '"', "\\", "x", "[", ""][Math.floor(r() * 8)];
        text = text.slice(0, at) + ch + text.slice(at + 1);
      }
      await sameAsWhole(text);
    }
  });
});


describe("parseNdjsonBodyInTurns", () => {
  async function sameAsWholeNdjson(text: string): Promise<unknown> {
    const whole = await outcome(() => parseNdjsonBody(text));
    expect(await outcome(() => parseNdjsonBodyInTurns(text))).toEqual(whole);
    return whole;
  }

  it("a large NDJSON body: the values of parseNdjsonBody, in runs with turns of the event loop between them", async () => {
    const events = Array.from({ length: 8000 }, (_, i) => ({ id: `e${i}`, at: "2026-01-01T00:00:00Z", v: i % 13, s: i % 5 === 0 ? "a\nb" : "x" }));
    const text = events.map((e, i) => (i % 100 === 7 ? "\n" : "") + JSON.stringify(e)).join("\n") + "\n";
    expect(text.length).toBeGreaterThan(4 * BODY_CHARS_PER_TURN);
    const { value: values, turns } = await countingLoopTurns(() => parseNdjsonBodyInTurns(text));
    expect(values).toEqual(events);
    expect(turns).toBeGreaterThanOrEqual(Math.floor(text.length / (BODY_CHARS_PER_TURN + 200)) - 1);
    await sameAsWholeNdjson(text);
  });

  it("a bad line far into a large body: the same error, line number and path as parseNdjsonBody", async () => {
    const lines = Array.from({ length: 8000 }, (_, i) => JSON.stringify({ id: `e${i}`, v: i }));
    const broken = [...lines];
    broken[6543] = '{"id": "e6543", "v": ';
    const r = (await sameAsWholeNdjson(broken.join("\n"))) as { error: unknown[] };
    expect(r.error[2]).toMatch(/^line 6544: malformed JSON/);
    const polluted = [...lines];
    polluted[7000] = '{"id": "e7000", "__proto__": {"x": 1}}';
    const p = (await sameAsWholeNdjson(polluted.join("\n"))) as { error: unknown[] };
    expect(p.error[3]).toEqual([{ path: [7000, "__proto__"], message: 'field "__proto__" is not allowed' }]);
  });
});
