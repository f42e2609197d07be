// Embeddings as features: the float[N] type through compile, the feature
// pipeline and the store; the built-in hashing embedding; an endpoint model
// (batched, retried, timed out) against a loopback OpenAI-compatible server;
// an extern fn returning float[N].

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { embeddingSettingsFromEnv } from "../runtime/embeddings/embedder.ts";
import { hashingEmbedding, hashingFeatures } from "../runtime/embeddings/hashing.ts";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import { compileTempSpec, type TempSpec } from "./helpers/temp-spec.ts";
import { embeddingsHandler, fakeVector, json, startFakeOpenAi, type FakeOpenAi } from "./helpers/fake-openai.ts";

const SPEC = `
source notes {
  path "notes.csv"
  event_time written_at
  unique note_id
  fields {
    note_id: string
    athlete_id: string
    written_at: timestamp
    text: string?
  }
}
entity athlete { key athlete_id: string }
extern fn my_embed(text: string): float[4] from "./notes.functions.ts"
feature_group coach_notes for athlete from notes {
  body = text
  hashed = embed(text, 64)
  remote = embed(lower(text), 8, "test-model")
  custom = my_embed(text)
}
`;
const FUNCTIONS = `
export function my_embed(text: string): number[] {
  if (text === "wrong length") return [1, 2];
  return [text.length, 1, 2, 3];
}
`;
const TEXTS = ["Easy run, felt great", "", "Interval session: 6x800m hard", "easy run felt great", null, "Interval session: 6x800m hard"];

function csv(texts: Array<string | null>): string {
  const lines = texts.map((t, i) => `n${i},a${i % 2},2025-01-0${i + 1}T00:00:00,${t === null ? "" : JSON.stringify(t)}`);
  return ["note_id,athlete_id,written_at,text", ...lines].join("\n") + "\n";
}

const cosine = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { d += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return d / Math.sqrt(na * nb);
};

describe("the built-in hashing embedding", () => {
  it("is deterministic, L2-normalised, and zero for text without words", () => {
    const a = hashingEmbedding("Tempo run along the river", 256);
    expect(Array.from(hashingEmbedding("Tempo run along the river", 256))).toEqual(Array.from(a));
    expect(Math.abs(Math.hypot(...a) - 1)).toBeLessThan(1e-6);
    expect(Array.from(hashingEmbedding(" ,;! ", 16))).toEqual(new Array(16).fill(0));
  });

  it("normalises case and Unicode forms, and weighs words, bigrams and 3-grams", () => {
    expect(Array.from(hashingEmbedding("CAFÉ", 32))).toEqual(Array.from(hashingEmbedding("cafe\u0301", 32)));
    const f = hashingFeatures("run run fast");
    expect(f.get("w:run")).toBeCloseTo(1 + Math.log(2), 12);
    expect(f.get("b:run fast")).toBe(0.5);
    expect(f.get("c:<ru")).toBeCloseTo(0.25 * (1 + Math.log(2)), 12);
  });

  it("ranks a paraphrase sharing words above an unrelated text", () => {
    const q = hashingEmbedding("how long will my 10 km run take", 256);
    const near = hashingEmbedding("10 km run took 52 minutes", 256);
    const far = hashingEmbedding("swimming drills in the pool", 256);
    expect(cosine(q, near)).toBeGreaterThan(cosine(q, far) + 0.1);
  });
});

describe("embedding features in the feature pipeline", () => {
  let spec: TempSpec;
  let api: FakeOpenAi;
  let store: Store | undefined;
  beforeAll(async () => {
    spec = await compileTempSpec({ "spec.fti": SPEC, "notes.functions.ts": FUNCTIONS, "notes.csv": csv(TEXTS) });
    api = await startFakeOpenAi({ "/v1/embeddings": embeddingsHandler(8) });
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
    api.requests.length = 0;
    api.handlers.set("/v1/embeddings", embeddingsHandler(8));
  });
  afterAll(async () => {
    spec.cleanup();
    await api.close();
  });

  const settings = (over: Record<string, string> = {}) =>
    embeddingSettingsFromEnv({ FTI_EMBED_URL: api.url, FTI_EMBED_API_KEY: "k-1", FTI_EMBED_BATCH_SIZE: "2", FTI_EMBED_RETRIES: "2", ...over });

  it("stores FLOAT[N] columns: hashing, endpoint and extern vectors, null for null text", async () => {
    store = await openStore({ path: ":memory:" });
    await runFeaturePipeline(store, spec.bundle, { embeddings: settings() });
    const cols = Object.fromEntries((await store.tableColumns("fg_coach_notes_v1")).map((c) => [c.name, c.type]));
    expect(cols).toMatchObject({ hashed: "FLOAT[64]", remote: "FLOAT[8]", custom: "FLOAT[4]" });
    const rows = await store.all<{ note_id: string; body: string | null; hashed: number[] | null; remote: number[] | null; custom: number[] | null }>(
      "SELECT note_id, body, hashed, remote, custom FROM fg_coach_notes_v1 ORDER BY note_id",
    );
    expect(rows).toHaveLength(TEXTS.length);
    for (const r of rows) {
      const text = TEXTS[Number(r.note_id.slice(1))];
      // The CSV reader reads an empty field as null.
      if (text === null || text === "") {
        expect([r.hashed, r.remote, r.custom]).toEqual([null, null, null]);
        continue;
      }
      expect(r.hashed).toEqual(Array.from(hashingEmbedding(text, 64)));
      expect(r.remote).toEqual(Array.from(Float32Array.from(fakeVector(text.toLowerCase(), 8))));
      expect(r.custom).toEqual([text.length, 1, 2, 3]);
    }
  });

  it("sends each distinct text once, in batches, with the key", async () => {
    store = await openStore({ path: ":memory:" });
    await runFeaturePipeline(store, spec.bundle, { embeddings: settings() });
    const sent = api.requests.flatMap((r) => r.body.input as string[]);
    const distinct = new Set(TEXTS.filter((t): t is string => !!t).map((t) => t.toLowerCase()));
    expect(sent.sort()).toEqual([...distinct].sort());
    expect(api.requests.every((r) => r.body.input.length <= 2 && r.body.model === "test-model" && r.authorization === "Bearer k-1")).toBe(true);
  });

  it("retries a 5xx answer and succeeds", async () => {
    const ok = embeddingsHandler(8);
    api.handlers.set("/v1/embeddings", (req, res, n) => (n === 1 ? json(res, 503, { error: "busy" }) : ok(req, res, n)));
    store = await openStore({ path: ":memory:" });
    await runFeaturePipeline(store, spec.bundle, { embeddings: settings() });
    const [{ n }] = await store.all<{ n: number }>("SELECT count(remote) AS n FROM fg_coach_notes_v1");
    expect(n).toBe(4);
  });

  it("fails the run with the reason, leaving no table, when the endpoint times out, breaks or returns other lengths", async () => {
    const cases: Array<[string, Parameters<typeof api.handlers.set>[1], RegExp, Record<string, string>]> = [
      ["hang", () => new Promise<void>(() => {}), /did not answer within 200 ms/, { FTI_EMBED_TIMEOUT_MS: "200", FTI_EMBED_RETRIES: "1" }],
      ["500", (_q, res) => json(res, 500, { error: "down" }), /answered 500/, {}],
      ["length", embeddingsHandler(5), /returns vectors of length 5, the spec declares 8/, {}],
      ["garbage", (_q, res) => json(res, 200, { data: "nope" }), /answered no embeddings/, {}],
      // Each of these was taken: a repeated or fractional index left a hole in the vectors (Array.some skips holes,
      // so the "repeats an index" check never fired), and a double beyond float32's range was stored as Infinity.
      ...(
        [
          ["repeated index", (d: { index: number }) => (d.index = 0), /the embeddings answer repeats index 0/],
          ["fractional index", (d: { index: number }) => (d.index = 0.5), /has index 0.5, not one of 0 to 1/],
          ["beyond float32", (d: { embedding: number[] }) => (d.embedding[0] = 1e300), /finite numbers within float32's range/],
        ] as const
      ).map(([name, edit, message]): [string, Parameters<typeof api.handlers.set>[1], RegExp, Record<string, string>] => [
        name,
        (req, res) => {
          const input: string[] = req.body.input;
          const data = input.map((t, index) => ({ index, embedding: fakeVector(t, 8) }));
          (edit as (d: { index: number; embedding: number[] }) => void)(data[data.length - 1]);
          json(res, 200, { data });
        },
        message,
        {},
      ]),
    ];
    for (const [name, handler, message, over] of cases) {
      api.handlers.set("/v1/embeddings", handler);
      store = await openStore({ path: ":memory:" });
      await expect(runFeaturePipeline(store, spec.bundle, { embeddings: settings(over) }), name).rejects.toThrow(message);
      expect(await store.tableExists("fg_coach_notes_v1"), name).toBe(false);
      await store.close();
      store = undefined;
    }
  });

  it("fails with a hint when no endpoint is configured", async () => {
    store = await openStore({ path: ":memory:" });
    await expect(runFeaturePipeline(store, spec.bundle, { embeddings: {} })).rejects.toThrow(/model `test-model` needs an OpenAI-compatible embeddings endpoint/);
  });
});

describe("an extern fn returning float[N]", () => {
  it("fails the run naming the function when it returns another length", async () => {
    const spec = await compileTempSpec({
      "spec.fti": SPEC.replace(`  remote = embed(lower(text), 8, "test-model")\n`, ""),
      "notes.functions.ts": FUNCTIONS,
      "notes.csv": csv(["ok", "wrong length"]),
    });
    const store = await openStore({ path: ":memory:" });
    try {
      await expect(runFeaturePipeline(store, spec.bundle)).rejects.toThrow(/my_embed\(\): expected 4 numbers, got 2/);
    } finally {
      await store.close();
      spec.cleanup();
    }
  });
});
