// `--online-store` / $FTI_ONLINE_STORE: memory by default, Redis standalone or
// Redis Cluster by URL; every malformed value is a UsageError saying what is
// accepted, and a password never shows in what is printed.

import { describe, expect, it } from "vitest";
import { UsageError } from "../runtime/errors.ts";
import { parseOnlineStore } from "../runtime/online/online-store.ts";

describe("parseOnlineStore", () => {
  it("memory by default and by name", () => {
    expect(parseOnlineStore(undefined)).toEqual({ kind: "memory" });
    expect(parseOnlineStore("")).toEqual({ kind: "memory" });
    expect(parseOnlineStore("memory")).toEqual({ kind: "memory" });
  });

  it("a standalone Redis: host, port (6379 by default), database, credentials, TLS, prefix", () => {
    expect(parseOnlineStore("redis://127.0.0.1:7001/2")).toMatchObject({ kind: "redis", mode: "standalone", nodes: [{ host: "127.0.0.1", port: 7001 }], db: 2, tls: false, prefix: "fti", display: "redis://127.0.0.1:7001/2" });
    expect(parseOnlineStore("redis://cache")).toMatchObject({ nodes: [{ host: "cache", port: 6379 }], db: 0 });
    const secret = parseOnlineStore("rediss://app:s3cr%40t@cache:6380?prefix=shop.v2");
    expect(secret).toMatchObject({ tls: true, username: "app", password: "s3cr@t", prefix: "shop.v2" });
    expect((secret as { display: string }).display).toBe("rediss://app@cache:6380");
    expect((parseOnlineStore("redis://:pw@cache") as { display: string }).display).toBe("redis://***@cache");
  });

  it("a Redis Cluster by its seed nodes", () => {
    expect(parseOnlineStore("redis+cluster://10.0.0.1:7000,10.0.0.2:7001,[::1]:7002")).toMatchObject({
      kind: "redis",
      mode: "cluster",
      nodes: [{ host: "10.0.0.1", port: 7000 }, { host: "10.0.0.2", port: 7001 }, { host: "::1", port: 7002 }],
    });
  });

  it.each([
    ["mongodb://x", "not an online store URL"],
    ["redis://", "not an online store URL"],
    ["redis://a:1,b:2", "several hosts need redis+cluster://"],
    ["redis://a:99999", "is not host:port"],
    ["redis+cluster://a:1/3", "only database 0"],
    ["redis://a?db=1", "unknown parameter"],
    ["redis://a?prefix=has space", "must be 1–64"],
    ["redis://a?prefix=", "must be 1–64"],
    ["redis://u:%zz@a", "malformed %-escape"],
    ["redis://a?prefix=%E0%A4%A", "malformed %-escape"],
  ])("%s is refused as wrong use (exit 2): %s", (value, message) => {
    expect(() => parseOnlineStore(value)).toThrow(UsageError);
    expect(() => parseOnlineStore(value)).toThrow(message);
  });

  it.each([
    ["redis://app:s3cret@cache:99999", "s3cret"],
    ["redis://app:p@ss@cache:99999", "ss"],
    ["redis://:%zzsecret@cache", "secret"],
    ["redis://u:hidden@a/b/c/d", "hidden"],
  ])("a refused URL's password is not echoed: %s", (value, secret) => {
    let message = "";
    try {
      parseOnlineStore(value);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^--online-store /);
    expect(message).not.toContain(secret);
  });
});
