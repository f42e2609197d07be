// Where the online rows live. The embedded default is the service's own
// memory (cache.ts: every group's online table read from the DuckDB file at
// each reload). A shared store (Redis, standalone or Redis Cluster) holds them
// for any number of `fti serve` replicas instead: `fti materialize` and the
// stream writer write it, each replica reads it per request
// (redis-store.ts; docs/online-store.md).
//
// This module only names the choice: `--online-store` / $FTI_ONLINE_STORE.

import { UsageError } from "../errors.ts";

export type OnlineStoreConfig =
  | { kind: "memory" }
  | {
      kind: "redis";
      /** Standalone: one node; cluster: the seed nodes (any of the cluster's masters). */
      mode: "standalone" | "cluster";
      nodes: Array<{ host: string; port: number }>;
      /** The database number (standalone only). */
      db: number;
      username?: string;
      password?: string;
      tls: boolean;
      /** Every key starts with `<prefix>:` (default `fti`), so several stores can share one Redis. */
      prefix: string;
      /** The URL without its password, for messages. */
      display: string;
    };

const HINT =
  "use `memory` (the default), `redis://[user:password@]host:port[/db]` (rediss:// for TLS) or " +
  "`redis+cluster://host1:port1,host2:port2,…` (the seed nodes of a Redis Cluster); `?prefix=name` changes the key prefix (default fti)";

/** `--online-store <url>` (else $FTI_ONLINE_STORE, else memory) → the configuration; a UsageError (exit 2: a flag or setting of the wrong form) naming what is wrong. */
export function parseOnlineStore(value: string | undefined): OnlineStoreConfig {
  const v = value?.trim();
  if (!v || v === "memory") return { kind: "memory" };
  const m = /^(redis|rediss|redis\+cluster|rediss\+cluster):\/\/(?:([^@/]*)@)?([^/?#]+)(?:\/(\d+))?\/?(?:\?(.*))?$/.exec(v);
  if (!m) throw new UsageError(`--online-store ${JSON.stringify(redacted(v).slice(0, 120))}: not an online store URL`, HINT);
  const [, scheme, auth, hosts, db, query] = m;
  const cluster = scheme.endsWith("+cluster");
  const nodes = hosts.split(",").map((h) => parseNode(h, v));
  if (!cluster && nodes.length > 1) throw new UsageError(`--online-store: several hosts need redis+cluster:// (a standalone Redis has one)`, HINT);
  if (cluster && db && db !== "0") throw new UsageError(`--online-store: a Redis Cluster has only database 0`, HINT);
  let prefix = "fti";
  for (const part of (query ?? "").split("&").filter(Boolean)) {
    const [k, val = ""] = part.split("=", 2);
    if (k !== "prefix") throw new UsageError(`--online-store: unknown parameter ${JSON.stringify(k.slice(0, 40))}`, HINT);
    prefix = decodeUrlPart(val, v);
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(prefix)) throw new UsageError(`--online-store: prefix ${JSON.stringify(prefix.slice(0, 70))} must be 1–64 of A-Z a-z 0-9 _ . : -`, HINT);
  }
  let username: string | undefined;
  let password: string | undefined;
  if (auth) {
    const i = auth.indexOf(":");
    username = decodeUrlPart(i < 0 ? auth : auth.slice(0, i), v) || undefined;
    password = i < 0 ? undefined : decodeUrlPart(auth.slice(i + 1), v);
  }
  const display = `${scheme}://${username ? `${username}@` : password ? "***@" : ""}${hosts}${db ? `/${db}` : ""}`;
  return { kind: "redis", mode: cluster ? "cluster" : "standalone", nodes, db: Number(db ?? 0), username, password, tls: scheme.startsWith("rediss"), prefix, display };
}

/** The URL as messages may show it: a password (`user:password@`) becomes `***`. */
function redacted(url: string): string {
  const start = url.indexOf("://") + 3;
  const at = url.lastIndexOf("@");
  const colon = url.indexOf(":", start);
  // Over-redacting is fine: everything from the user's ':' to the last '@' may be the password.
  return start < 3 || at < start || colon < 0 || colon > at ? url : `${url.slice(0, colon + 1)}***${url.slice(at)}`;
}

/** `%40` → `@`; a malformed escape (`%zz`) is a usage error, not a crash. */
function decodeUrlPart(part: string, whole: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new UsageError(`--online-store ${JSON.stringify(redacted(whole).slice(0, 120))}: a malformed %-escape (write % itself as %25)`, HINT);
  }
}

function parseNode(h: string, whole: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+)(?::(\d{1,5}))?$/.exec(h);
  const port = Number(m?.[2] ?? 6379);
  if (!m || port < 1 || port > 65535) {
    const which = h.includes("@") ? "a host" : JSON.stringify(h.slice(0, 80)); // an '@' here means part of a password
    throw new UsageError(`--online-store ${JSON.stringify(redacted(whole).slice(0, 120))}: ${which} is not host:port`, HINT);
  }
  return { host: m[1].replace(/^\[|\]$/g, ""), port };
}
