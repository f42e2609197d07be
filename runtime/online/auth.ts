// Who may call the service. Three rules, checked before any route runs:
// - admin routes (`/admin/...`) need the admin token (`Authorization: Bearer
//   <token>`); `fti serve` makes one up when none is configured and writes it
//   to a file only the user can read;
// - with a prediction token configured, the API routes (`/v1/...`, `/metrics`)
//   need it too (one token per line of the file: several clients, rotation);
// - a request a browser sends cross-site is refused: an `Origin` that is not
//   the server's own, `Sec-Fetch-Site: cross-site`, or a POST whose body is not
//   `application/json` (the content types a page may post cross-site without a
//   preflight are text/plain, form and multipart).

import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { UserError } from "../errors.ts";
import { readInputFile, TOKEN_FILE_LIMIT_BYTES } from "../input-file.ts";
import { NDJSON_TYPES } from "./json-body.ts";
import { makeDirs } from "../make-dirs.ts";

export interface AccessOptions {
  /** Tokens accepted on admin routes. */
  adminTokens: string[];
  /** Tokens accepted on the API routes; none = open (loopback use). */
  apiTokens: string[];
  /**
   * The server listens on a loopback address: without API tokens, only requests addressed to a loopback name
   * (`Host: 127.0.0.1`, `localhost`, `[::1]`) are answered. A page whose host name its DNS re-pointed at
   * 127.0.0.1 (DNS rebinding) is same-origin to the browser: Origin and Host both name it, so the cross-site
   * check let it read any entity's features and post events.
   */
  loopbackOnly?: boolean;
}

export interface Refusal {
  status: 401 | 403 | 415;
  code: string;
  message: string;
}

/**
 * Tokens from a file (one per line, `#` comments) or an environment variable (comma-separated, no comments:
 * a token starting with `#` was dropped and the API served open). A variable set to something that holds no
 * token (`,`, spaces) is refused like an empty file; an empty one is unset.
 */
export function readTokens(opts: { file?: string; env?: string; envName?: string; what: string }): string[] {
  const lines = opts.file
    ? readInputFile(opts.file, `the ${opts.what} token file`, TOKEN_FILE_LIMIT_BYTES)
        .toString("utf8")
        .split("\n")
        .filter((l) => !l.trim().startsWith("#"))
    : (opts.env ?? "").split(",");
  const tokens = lines.map((l) => l.trim()).filter((l) => l);
  if (opts.file && tokens.length === 0) throw new UserError(`the ${opts.what} token file ${opts.file} holds no token`);
  if (!opts.file && opts.env && tokens.length === 0) {
    throw new UserError(`${opts.envName ? `$${opts.envName}` : `the ${opts.what} token variable`} is set but holds no token`, "set it to the token(s), comma-separated, or unset it");
  }
  for (const t of tokens) if (t.length < 16) throw new UserError(`a ${opts.what} token is shorter than 16 characters`, "use a long random token, e.g. `openssl rand -hex 32`");
  return tokens;
}

/** A new random admin token (`fti serve` writes it with writeAdminToken once the server is up). */
export function newAdminToken(): string {
  return randomBytes(32).toString("hex");
}

/**
 * Writes an admin token to `file` (mode 0600): into a new file of its own, renamed over `file`. Written in
 * place, a symbolic link there was followed (the token went into, and chmod hit, whatever it pointed at), and
 * a file another user had made writable kept its owner, who could read every token written into it.
 */
export function writeAdminToken(file: string, token: string): void {
  makeDirs(dirname(file));
  const tmp = `${file}.${process.pid}-${randomBytes(6).toString("hex")}.tmp`;
  writeFileSync(tmp, token + "\n", { mode: 0o600, flag: "wx" });
  try {
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/** Constant-time comparison against each accepted token. */
function tokenMatches(header: string | undefined, tokens: string[]): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (!m) return false;
  const given = digest(m[1]);
  let ok = false;
  for (const t of tokens) ok = timingSafeEqual(given, digest(t)) || ok;
  return ok;
}

export interface RequestFacts {
  method: string;
  /** The route the router matched (http.ts), or a fast path's exact one: never the request's raw text. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
}

const header = (h: RequestFacts["headers"], name: string) => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/** Why a request is refused, or null to let it through. */
export function refusal(req: RequestFacts, access: AccessOptions): Refusal | null {
  const foreign = foreignHost(req, access);
  if (foreign) return foreign;
  const cross = crossSite(req);
  if (cross) return cross;
  if (req.path.startsWith("/admin/")) {
    if (!tokenMatches(header(req.headers, "authorization"), access.adminTokens)) {
      return { status: 401, code: "unauthorized", message: "admin routes need the admin token: `Authorization: Bearer <token>` (see `fti serve --help`)" };
    }
    return null;
  }
  const api = req.path.startsWith("/v1/") || req.path === "/metrics";
  if (api && access.apiTokens.length && !tokenMatches(header(req.headers, "authorization"), access.apiTokens)) {
    return { status: 401, code: "unauthorized", message: "this server needs a token: `Authorization: Bearer <token>`" };
  }
  return null;
}

function crossSite(req: RequestFacts): Refusal | null {
  const origin = header(req.headers, "origin");
  const host = header(req.headers, "host");
  if (origin !== undefined && origin !== "null") {
    let originHost: string | null = null;
    try {
      originHost = new URL(origin).host;
    } catch {
      originHost = null;
    }
    if (!host || originHost !== host) return { status: 403, code: "cross_site", message: "cross-site requests are refused (the Origin is not this server)" };
  } else if (origin === "null") {
    return { status: 403, code: "cross_site", message: "cross-site requests are refused (opaque Origin)" };
  }
  if (header(req.headers, "sec-fetch-site") === "cross-site") {
    return { status: 403, code: "cross_site", message: "cross-site requests are refused" };
  }
  if (req.method === "POST") {
    const type = (header(req.headers, "content-type") ?? "").split(";")[0].trim().toLowerCase();
    const hasBody = Number(header(req.headers, "content-length") ?? 0) > 0 || header(req.headers, "transfer-encoding") !== undefined;
    // NDJSON only where events are taken; neither type is one a page can post cross-site without a preflight.
    const ndjson = NDJSON_TYPES.includes(type) && /^\/v1\/sources\/[^/]+\/events$/.test(req.path);
    if ((hasBody || type) && type !== "application/json" && !ndjson) {
      return { status: 415, code: "unsupported_media_type", message: "send the request as application/json" };
    }
    // A gzip body was read as the JSON text itself: "the body is not valid UTF-8" (400), a puzzle for the client.
    const encoding = header(req.headers, "content-encoding")?.trim().toLowerCase();
    if (encoding && encoding !== "identity") {
      return { status: 415, code: "unsupported_media_type", message: `Content-Encoding ${encoding.slice(0, 40)} is not accepted: send the body uncompressed` };
    }
  }
  return null;
}

/** A request to a loopback listener without API tokens addressed to another name (see `loopbackOnly`); none without a Host (no browser). */
function foreignHost(req: RequestFacts, access: AccessOptions): Refusal | null {
  if (!access.loopbackOnly || access.apiTokens.length > 0) return null;
  const host = header(req.headers, "host");
  if (host === undefined) return null;
  const name = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.replace(/:\d*$/, "");
  if (isLoopback(name.replace(/\.$/, ""))) return null;
  return {
    status: 403,
    code: "host_not_allowed",
    message: `this server listens on loopback without a token and answers requests addressed to 127.0.0.1, localhost or [::1], not to ${JSON.stringify(host.slice(0, 80))} (a page re-pointing its name here, DNS rebinding, is refused); behind a proxy, set FTI_TOKEN / --token-file`,
  };
}

/** 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h) || h === "::ffff:127.0.0.1";
}
