// Serving never reads the future, and a request log that cannot be written
// is visible (healthz, metrics, an error line) and, when required, refuses
// predictions; durable mode answers only what is on disk.

import { lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isLoopback, readTokens, writeAdminToken } from "../runtime/online/auth.ts";
import { createHttpApp, startServer } from "../runtime/online/http.ts";
import { readRequestLog } from "../runtime/online/log.ts";
import { materialize } from "../runtime/online/materialize.ts";
import { OnlineService, type Logger } from "../runtime/online/service.ts";
import type { OnlinePrediction } from "../runtime/online/types.ts";
import { verifyModel } from "../runtime/online/verify.ts";
import { USERS } from "./helpers/model-bundles.ts";
import { buildToyStore, type ToyStore } from "./helpers/online-toy.ts";

let toy: ToyStore;

beforeAll(async () => {
  toy = await buildToyStore({ train: ["toy_gbdt", "toy_linear", "toy_request", "toy_impute"] });
  await toy.withStore((store) => materialize(store, toy.bundle));
});
afterAll(() => toy?.cleanup());

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: () => {}, warn: (m) => lines.push(`warn: ${m}`), error: (m) => lines.push(`error: ${m}`) };
}

describe("a request time in the past (#4)", () => {
  const PAST = new Date("2025-06-15T00:00:00Z");

  it("--now (asOf) serves each entity's latest row at or before the request time, and verify agrees", async () => {
    const logs = join(toy.dir, "asof-logs");
    const svc = await OnlineService.open(toy.bundle, { store: toy.storePath, logs, asOf: PAST, logger: recordingLogger() });
    let present = 0;
    try {
      for (const [i, u] of USERS.entries()) {
        const r = await svc.predict("toy_request", { user_id: u, amount: 1 + (i % 3) });
        expect(r.status).toBe(200);
        const p = r.body as OnlinePrediction;
        expect(p.request_time).toBe(PAST.toISOString());
        const t = p.feature_times.user_stats;
        if (t !== null) expect(Date.parse(t)).toBeLessThanOrEqual(PAST.getTime());
        if (p.features.x1.status === "present") present++;
      }
    } finally {
      await svc.close();
    }
    expect(present).toBeGreaterThan(USERS.length / 2);
    const v = await toy.withStore((store) => verifyModel(store, toy.bundle, "toy_request", { logsDir: logs }));
    expect(v.requests).toBe(USERS.length);
    expect(v.mismatches).toBe(0);
  });

  it("a clock before the online rows never serves them: status future, null value, 422 without impute", async () => {
    const svc = await OnlineService.open(toy.bundle, { store: toy.storePath, logs: false, now: () => PAST.getTime(), logger: recordingLogger() });
    try {
      const r = await svc.predict("toy_gbdt", { user_id: USERS[0] });
      expect(r.status).toBe(422);
      expect(JSON.stringify(r.body)).toContain("only rows after the request time");
      // the join is named as having only later rows, not as having none
      const message = (r.body as { error: { message: string } }).error.message;
      expect(message.endsWith(`; only rows after the request time in user_stats user_id="${USERS[0]}"`), message).toBe(true);
      expect(message).not.toContain("no row in");
      const imp = await svc.predict("toy_impute", { user_id: USERS[0] });
      expect(imp.status).toBe(200);
      expect((imp.body as OnlinePrediction).features.x1).toEqual({ value: null, status: "future" });
    } finally {
      await svc.close();
    }
  });
});

describe("a request log that cannot be written (#1)", () => {
  it("degrades /healthz, shows in /metrics, logs an error line; --log-required answers 503", async () => {
    const logs = join(toy.dir, "broken-logs");
    writeFileSync(logs, "a file where the log directory should be");
    const logger = recordingLogger();
    const svc = await OnlineService.open(toy.bundle, { store: toy.storePath, logs, logFlushMs: 5, logRequired: true, now: () => Date.parse("2026-03-01T00:00:00Z"), logger });
    const { app } = createHttpApp(svc);
    try {
      const first = await svc.predict("toy_gbdt", { user_id: USERS[0] });
      expect(first.status).toBe(200); // the log has not failed yet
      await svc.log!.flush();
      const health = await app.inject({ method: "GET", url: "/healthz" });
      expect(health.json()).toMatchObject({ status: "degraded", request_log: { failing: true, pending: 1, required: true } });
      expect((await app.inject({ method: "GET", url: "/metrics" })).body).toMatch(/fti_request_log_failing\{?\}? 1/);
      expect(logger.lines.some((l) => l.startsWith("error: request log:"))).toBe(true);
      const refused = await svc.predict("toy_gbdt", { user_id: USERS[1] });
      expect(refused.status).toBe(503);
      expect(refused.body).toMatchObject({ error: { code: "request_log_unavailable" } });
    } finally {
      await app.close();
      await svc.close();
    }
    expect(svc.log!.lost()).toBe(1);
  });

  it("durable mode: an answered request is already in the file; a failing log refuses the request", async () => {
    const logs = join(toy.dir, "durable-logs");
    const now = () => Date.parse("2026-03-01T00:00:00Z");
    const svc = await OnlineService.open(toy.bundle, { store: toy.storePath, logs, logOptions: { durable: true }, now, logger: recordingLogger() });
    try {
      const answers = await Promise.all(USERS.slice(0, 8).map((u) => svc.predict("toy_gbdt", { user_id: u })));
      expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
      const onDisk = readRequestLog(logs, "toy_gbdt").entries.map((e) => e.id).sort();
      expect(onDisk).toEqual(answers.map((a) => (a.body as OnlinePrediction).request_id).sort());
    } finally {
      await svc.close();
    }
    const bad = join(toy.dir, "durable-broken");
    writeFileSync(bad, "");
    const failing = await OnlineService.open(toy.bundle, { store: toy.storePath, logs: bad, logOptions: { durable: true }, now, logger: recordingLogger() });
    try {
      const r = await failing.predict("toy_gbdt", { user_id: USERS[0] });
      expect(r.status).toBe(503);
      expect(r.body).toMatchObject({ error: { code: "request_log_unavailable" } });
    } finally {
      await failing.close();
    }
  });
});

describe("who may call the service (#9)", () => {
  const NOW = () => Date.parse("2026-03-01T00:00:00Z");
  const ADMIN = "admin-token-0123456789abcdef";
  const API = "api-token-0123456789abcdef";

  it("admin routes need the admin token; cross-site requests and non-JSON posts are refused", async () => {
    const svc = await OnlineService.open(toy.bundle, { store: toy.storePath, logs: false, now: NOW, logger: recordingLogger() });
    const { app } = createHttpApp(svc, { access: { adminTokens: [ADMIN] } });
    const reload = (headers: Record<string, string>, payload?: string) => app.inject({ method: "POST", url: "/admin/reload", headers, payload });
    const body = JSON.stringify({ user_id: USERS[0] });
    const predict = (headers: Record<string, string>, payload = body) =>
      app.inject({ method: "POST", url: "/v1/models/toy_gbdt/predict", headers: { host: "127.0.0.1:8080", ...headers }, payload });
    try {
      expect((await reload({})).statusCode).toBe(401);
      expect((await reload({ authorization: "Bearer wrong-token-but-long-enough" })).statusCode).toBe(401);
      expect((await reload({ "content-type": "text/plain", authorization: `Bearer ${ADMIN}` }, "x")).statusCode).toBe(415);
      expect((await reload({ authorization: `Bearer ${ADMIN}`, origin: "https://evil.example" })).statusCode).toBe(403);
      expect((await reload({ authorization: `Bearer ${ADMIN}` })).statusCode).toBe(200);

      expect((await predict({ "content-type": "application/json" })).statusCode).toBe(200);
      expect((await predict({ "content-type": "application/json", origin: "http://127.0.0.1:8080" })).statusCode).toBe(200); // the page itself
      expect((await predict({ "content-type": "application/json", origin: "https://evil.example" })).statusCode).toBe(403);
      expect((await predict({ "content-type": "application/json", origin: "null" })).statusCode).toBe(403);
      expect((await predict({ "content-type": "application/json", "sec-fetch-site": "cross-site" })).statusCode).toBe(403);
      expect((await predict({ "content-type": "text/plain" })).statusCode).toBe(415);
      expect((await predict({ "content-type": "application/x-www-form-urlencoded" }, "user_id=u01")).statusCode).toBe(415);
    } finally {
      await app.close();
      await svc.close();
    }
  });

  it("with a prediction token, the API routes need it; health and pages stay open", async () => {
    const svc = await OnlineService.open(toy.bundle, { store: toy.storePath, logs: false, now: NOW, logger: recordingLogger() });
    const { app } = createHttpApp(svc, { access: { adminTokens: [ADMIN], apiTokens: [API, `${API}-2`] } });
    const predict = (headers: Record<string, string>) =>
      app.inject({ method: "POST", url: "/v1/models/toy_gbdt/predict", headers: { "content-type": "application/json", ...headers }, payload: { user_id: USERS[0] } });
    try {
      expect((await predict({})).statusCode).toBe(401);
      expect((await predict({ authorization: `Bearer ${ADMIN}` })).statusCode).toBe(401);
      expect((await predict({ authorization: `Bearer ${API}` })).statusCode).toBe(200);
      expect((await predict({ authorization: `Bearer ${API}-2` })).statusCode).toBe(200);
      expect((await app.inject({ method: "GET", url: "/v1/models" })).statusCode).toBe(401);
      expect((await app.inject({ method: "GET", url: "/metrics" })).statusCode).toBe(401);
      expect((await app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
    } finally {
      await app.close();
      await svc.close();
    }
  });

  it("a percent-encoded path is checked as the router reads it: /%61dmin/reload and /%761/models went through without a token", async () => {
    const svc = await OnlineService.open(toy.bundle, { store: toy.storePath, logs: false, now: NOW, logger: recordingLogger() });
    const { app } = createHttpApp(svc, { access: { adminTokens: [ADMIN], apiTokens: [API] } });
    try {
      for (const url of ["/%61dmin/reload", "/%61%64%6D%69%6E/reload", "/admin/%72eload"]) {
        expect((await app.inject({ method: "POST", url })).statusCode, url).toBe(401);
        expect((await app.inject({ method: "POST", url, headers: { authorization: `Bearer ${ADMIN}` } })).statusCode, url).toBe(200);
      }
      for (const url of ["/%761/models", "/v%31/models", "/%6detrics", "/%6Detrics?x=1"]) {
        expect((await app.inject({ method: "GET", url })).statusCode, url).toBe(401);
        expect((await app.inject({ method: "GET", url, headers: { authorization: `Bearer ${API}` } })).statusCode, url).toBe(200);
      }
      const predict = await app.inject({ method: "POST", url: "/v1/models/toy%5Fgbdt/predict", headers: { "content-type": "application/json" }, payload: { user_id: USERS[0] } });
      expect(predict.statusCode).toBe(401);
      const encoded = await app.inject({ method: "POST", url: "/%76%31/models/toy_gbdt/predict", headers: { "content-type": "application/json" }, payload: { user_id: USERS[0] } });
      expect(encoded.statusCode).toBe(401);
    } finally {
      await app.close();
      await svc.close();
    }
  });

  it("on loopback without an API token, a request addressed to another host name (DNS rebinding) is refused, on every path", async () => {
    // A page at http://evil.example:<port>/ whose name its DNS re-pointed at 127.0.0.1 is same-origin to the browser:
    // its Origin and Host both said evil.example, the cross-site check passed, and it read features and predictions.
    const send = (port: number, host: string, method: string, target: string, extra = "", body = "") =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const socket = connect(port, "127.0.0.1", () => {
          socket.write(`${method} ${target} HTTP/1.1\r\nHost: ${host}\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
        });
        let text = "";
        socket.on("data", (d) => (text += d.toString()));
        socket.on("end", () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text }));
        socket.on("error", reject);
      });
    const predict = JSON.stringify({ user_id: USERS[0] });
    const json = "Content-Type: application/json\r\n";
    const open = await startServer(toy.bundle, { port: 0, store: toy.storePath, logs: false, now: NOW });
    try {
      const port = Number(new URL(open.url).port);
      for (const host of ["evil.example", `evil.example:${port}`, `127.0.0.1.nip.io:${port}`, "[::2]:1"]) {
        const evil = `${json}Origin: http://${host}\r\n`;
        const refused = [
          await send(port, host, "POST", "/v1/models/toy_gbdt/predict", evil, predict), // the fast path
          await send(port, host, "POST", "/v1/models/toy_gbdt/predict", `Content-Type: application/json; charset=latin1\r\nOrigin: http://${host}\r\n`, predict), // Fastify's route
          await send(port, host, "GET", "/v1/models"),
          await send(port, host, "GET", "/"),
        ];
        expect(refused.map((r) => r.status), host).toEqual([403, 403, 403, 403]);
        expect(refused[0].text).toContain('"code":"host_not_allowed"');
      }
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, "localhost", `[::1]:${port}`, `LOCALHOST.:${port}`]) {
        expect((await send(port, host, "POST", "/v1/models/toy_gbdt/predict", json, predict)).status, host).toBe(200);
      }
    } finally {
      await open.close();
    }
    // With a token the name is not what protects it (a proxy in front may pass its own Host): the token is.
    const guarded = await startServer(toy.bundle, { port: 0, store: toy.storePath, logs: false, now: NOW, access: { apiTokens: [API] } });
    try {
      const port = Number(new URL(guarded.url).port);
      expect((await send(port, "fti.example.com", "POST", "/v1/models/toy_gbdt/predict", `${json}Authorization: Bearer ${API}\r\n`, predict)).status).toBe(200);
      expect((await send(port, "fti.example.com", "POST", "/v1/models/toy_gbdt/predict", json, predict)).status).toBe(401);
    } finally {
      await guarded.close();
    }
  });

  it("an absolute-form request target is checked as the route it runs: POST http://h/admin/reload went through without a token", async () => {
    const svc = await OnlineService.open(toy.bundle, { store: toy.storePath, logs: false, now: NOW, logger: recordingLogger() });
    const { app } = createHttpApp(svc, { access: { adminTokens: [ADMIN], apiTokens: [API] } });
    try {
      await app.listen({ host: "127.0.0.1", port: 0 });
      const { port } = app.server.address() as { port: number };
      // light-my-request rewrites an absolute URL to its path, so this one goes over a socket as a client would send it.
      const statusOf = (target: string, method: string, auth?: string) =>
        new Promise<number>((resolve, reject) => {
          const socket = connect(port, "127.0.0.1", () => {
            const authLine = auth ? `Authorization: Bearer ${auth}\r\n` : "";
            socket.write(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${authLine}Content-Length: 0\r\nConnection: close\r\n\r\n`);
          });
          let text = "";
          socket.on("data", (d) => (text += d.toString()));
          socket.on("end", () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
          socket.on("error", reject);
        });
      expect(await statusOf("http://127.0.0.1/admin/reload", "POST")).toBe(401);
      expect(await statusOf("http://127.0.0.1/admin/reload", "POST", ADMIN)).toBe(200);
      expect(await statusOf("http://elsewhere/v1/models", "GET")).toBe(401);
      expect(await statusOf("http://elsewhere/v1/models", "GET", API)).toBe(200);
      expect(await statusOf("http://elsewhere/metrics", "GET")).toBe(401);
    } finally {
      await app.close();
      await svc.close();
    }
  });

  it("a path that is no URL (a % escape that does not decode) or a long name is answered in the API's error shape, as a 400 / the route's 404", async () => {
    const svc = await OnlineService.open(toy.bundle, { store: toy.storePath, logs: false, now: NOW, logger: recordingLogger() });
    const { app } = createHttpApp(svc, { access: { adminTokens: [ADMIN], apiTokens: [API] } });
    try {
      const headers = { authorization: `Bearer ${API}`, "content-type": "application/json; charset=latin1" }; // latin1: Fastify's route, not the fast path
      for (const url of ["/v1/models/%E0%A4%A/predict", "/v1/models/%ZZ/predict", "/models/%C0"]) {
        const r = await app.inject({ method: url.startsWith("/models") ? "GET" : "POST", url, headers, payload: "{}" });
        expect([r.statusCode, r.json()], url).toEqual([400, { error: { status: 400, code: "bad_url", message: "the path is not a valid URL: a % escape in it does not decode to UTF-8 text" } }]);
      }
      const long = "m".repeat(150);
      const predict = await app.inject({ method: "POST", url: `/v1/models/${long}/predict`, headers, payload: "{}" });
      expect([predict.statusCode, predict.json().error.code]).toEqual([404, "unknown_model"]);
      const page = await app.inject({ method: "GET", url: `/models/${long}`, headers: { authorization: `Bearer ${API}` } });
      expect([page.statusCode, page.headers["content-type"]]).toEqual([404, "text/html; charset=utf-8"]); // the model page's own not-found page
    } finally {
      await app.close();
      await svc.close();
    }
  });

  it("the admin token file is a new file of its own (0600): a symbolic link at its name is replaced, not followed", () => {
    const victim = join(toy.dir, "victim.txt");
    writeFileSync(victim, "keep me\n", { mode: 0o644 });
    const file = join(toy.dir, "tokens", "admin.token");
    mkdirSync(join(toy.dir, "tokens"), { recursive: true });
    symlinkSync(victim, file);
    writeAdminToken(file, ADMIN);
    expect(readFileSync(victim, "utf8")).toBe("keep me\n");
    expect(statSync(victim).mode & 0o777).toBe(0o644);
    expect(lstatSync(file).isFile()).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8")).toBe(`${ADMIN}\n`);
    writeAdminToken(file, API); // again over its own file
    expect(readFileSync(file, "utf8")).toBe(`${API}\n`);
    expect(readdirSync(join(toy.dir, "tokens"))).toEqual(["admin.token"]);
  });

  it("tokens come from a file (one per line) or the environment; short or missing ones are refused", () => {
    const file = join(toy.dir, "tokens.txt");
    writeFileSync(file, `# clients\n${API}\n\n${API}-2\n`);
    expect(readTokens({ file, what: "API" })).toEqual([API, `${API}-2`]);
    expect(readTokens({ env: `${API},${API}-3`, what: "API" })).toEqual([API, `${API}-3`]);
    writeFileSync(file, "short\n");
    expect(() => readTokens({ file, what: "API" })).toThrow(/shorter than 16/);
    expect(() => readTokens({ file: join(toy.dir, "nope"), what: "API" })).toThrow(/token file .*nope: no such file/);
    // The environment has no comments: a token starting with # was dropped and the API served open.
    expect(readTokens({ env: `#${API}`, what: "API" })).toEqual([`#${API}`]);
    // Set to something that holds no token (a stray comma, spaces): refused, not an open API. Empty is unset.
    for (const env of [",", " ", " , "]) expect(() => readTokens({ env, what: "API" }), JSON.stringify(env)).toThrow(/holds no token/);
    expect(readTokens({ env: "", what: "API" })).toEqual([]);
    expect(isLoopback("127.0.0.1") && isLoopback("::1") && isLoopback("localhost")).toBe(true);
    expect(isLoopback("0.0.0.0") || isLoopback("::") || isLoopback("10.0.0.1")).toBe(false);
  });
});

describe("what an error echoes (#10)", () => {
  it("a 422 for a huge id, a huge unknown key and a broken body repeat at most a short piece of the input; __proto__ is an invalid field, not malformed JSON", async () => {
    const svc = await OnlineService.open(toy.bundle, { store: toy.storePath, logs: false, now: () => Date.parse("2026-03-01T00:00:00Z"), logger: recordingLogger() });
    const { app } = createHttpApp(svc);
    const post = (payload: string) =>
      app.inject({ method: "POST", url: "/v1/models/toy_gbdt/predict", headers: { "content-type": "application/json" }, payload });
    try {
      const huge = "x".repeat(900_000);
      const r422 = await post(JSON.stringify({ user_id: huge }));
      expect(r422.statusCode).toBe(422);
      expect(r422.body.length).toBeLessThan(2000);
      expect(r422.json().error.message).toContain("(900002 characters)");

      const unknownKey = await post(JSON.stringify({ user_id: "u01", [huge]: 1 }));
      expect(unknownKey.statusCode).toBe(400);
      expect(unknownKey.body.length).toBeLessThan(2000);

      const broken = await post(`{"user_id": "${"y".repeat(5000)}`);
      expect(broken.statusCode).toBe(400);
      expect(broken.json().error.code).toBe("invalid_json");
      expect(broken.body).not.toContain("yyyyyyyyyy");

      for (const body of ['{"__proto__": {"admin": true}, "user_id": "u01"}', '{"user_id": "u01", "x": {"constructor": {"prototype": {}}}}']) {
        const proto = await post(body);
        expect(proto.statusCode).toBe(400);
        expect(proto.json().error).toMatchObject({ code: "invalid_request", issues: [{ path: expect.arrayContaining([expect.stringMatching(/__proto__|prototype/)]) }] });
        expect(proto.json().error.message).not.toMatch(/malformed/i);
      }
      expect(({} as Record<string, unknown>).admin).toBeUndefined();
      const deep = await post("[".repeat(200_000) + "]".repeat(200_000));
      expect(deep.statusCode).toBe(400);
      expect((await post(JSON.stringify({ user_id: "u01" }))).statusCode).toBe(200);
    } finally {
      await app.close();
      await svc.close();
    }
  });
});
