// Answers of a running `fti serve` for a set of athletes, and what a Redis
// online store holds, as exact order-independent fingerprints: the shared
// store's tests compare a replica's answers with the in-memory store's.

import { expect } from "vitest";

export interface Answers {
  /** One request per athlete: status and body (request_id removed), sorted by athlete. */
  single: Array<{ athlete: string; status: number; body: any }>;
  /** One batch of every athlete. */
  batch: { status: number; body: any };
}

const instance = (athlete: string) => ({ athlete_id: athlete, planned_pace_min_km: 5.2, distance_km: 10, elevation_gain_m: 80 });

function strip(body: any): any {
  if (body && typeof body === "object") {
    const { request_id: _id, ...rest } = body;
    if (Array.isArray(rest.predictions)) rest.predictions = rest.predictions.map(strip);
    return rest;
  }
  return body;
}

async function predict(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(`${url}/v1/models/time_estimator/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: r.status, body: strip(await r.json()) };
}

export async function answersOf(url: string, athletes: readonly string[], model = "time_estimator"): Promise<Answers> {
  void model;
  const sorted = [...athletes].sort();
  const single = [];
  for (const a of sorted) single.push({ athlete: a, ...(await predict(url, instance(a))) });
  // The batch: athletes with online rows only (one unknown makes the whole batch a 422), in reverse order.
  const known = single.filter((s) => s.status === 200).map((s) => s.athlete).reverse();
  const batch = await predict(url, { instances: known.map(instance) });
  return { single, batch };
}

/** Exactly equal: every status, value, event time, prediction and error message. */
export function compareAnswers(got: Answers, want: Answers): void {
  expect(JSON.stringify(got.single)).toBe(JSON.stringify(want.single));
  expect(JSON.stringify(got.batch)).toBe(JSON.stringify(want.batch));
}

/** Every row hash and entity set under `<prefix>:` (the meta hashes left out: they carry the sync time), keys without the prefix, sorted. */
export async function redisFingerprint(url: string, prefix: string): Promise<{ rows: Array<[string, Record<string, string>]>; entities: Array<[string, string[]]> }> {
  const { default: Redis, Cluster } = await import("ioredis");
  const cluster = url.startsWith("redis+cluster://");
  const hosts = url.replace(/^[a-z+]+:\/\//, "").split("?")[0].split(",").map((h) => ({ host: h.split(":")[0], port: Number(h.split(":")[1]) }));
  const client = cluster ? new Cluster(hosts) : new Redis(hosts[0]);
  try {
    const nodes = cluster ? (client as InstanceType<typeof Cluster>).nodes("master") : [client as InstanceType<typeof Redis>];
    const keys: string[] = [];
    for (const node of nodes) {
      let cursor = "0";
      do {
        const [next, found] = await node.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
        cursor = next;
        keys.push(...found);
      } while (cursor !== "0");
    }
    keys.sort();
    const rows: Array<[string, Record<string, string>]> = [];
    const entities: Array<[string, string[]]> = [];
    for (const k of keys) {
      const short = k.slice(prefix.length + 1);
      if (short.startsWith("row:")) rows.push([short, await client.hgetall(k)]);
      else if (short.startsWith("ents:")) entities.push([short, (await client.smembers(k)).sort()]);
    }
    return { rows, entities };
  } finally {
    client.disconnect();
  }
}
