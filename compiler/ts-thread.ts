// The compiler's TypeScript worker, seen from the main thread. A compile
// starts it first thing: loading TypeScript and parsing the libraries the
// checks read (the worker, ts-thread-worker.ts) then overlaps the main
// thread's parsing and checking of the spec, on a second core. The worker
// answers `extern fn` checks and prints and type-checks the generated
// modules; nothing TypeScript-shaped crosses the thread boundary, only plain
// data (requests, answers, diagnostics).
//
// One worker per process, reused by later compiles (its project keeps what
// it parsed). It never keeps the process alive: it is unref'd whenever no
// request is waiting. A failure in the worker rejects every waiting request
// with an Error (an internal error, exit 3, in the CLI), and the next request
// starts a new worker.
//
// Opt-in (FTI_TS_WORKER=1) until it is measured faster on a quiet machine:
// on the loaded 2-core machine it was measured slower (docs/benchmarks.md),
// because the worker's path still holds all the TypeScript work and adds its
// own start (tsx, the compiler's modules loaded a second time).

import { Worker } from "node:worker_threads";
import type { ExternOutcome, ExternRequest } from "./checker/extern-inspect.ts";
import type { Diagnostic } from "./diagnostics.ts";
import type { EmitOptions } from "./emit/project.ts";
import type { IrSpec } from "./ir.ts";

export interface TsRequest {
  id: number;
  op: "extern" | "emit";
  extern?: ExternRequest;
  ir?: IrSpec;
  opts?: EmitOptions;
}

export interface TsReply {
  id: number;
  value?: unknown;
  error?: { message: string; stack?: string };
}

/** The generated files and their type-check's diagnostics, or the file-system error that stopped it. */
export type EmitAnswer =
  | { files: Map<string, string>; diagnostics: Diagnostic[]; ioError?: undefined }
  | { ioError: { message: string; code: string; syscall?: string; path?: string } };

type Waiting = { resolve: (v: unknown) => void; reject: (e: Error) => void };

export class TsThread {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private failed?: Error;

  constructor(onGone: (t: TsThread) => void) {
    this.worker = new Worker(new URL("./ts-thread-entry.mjs", import.meta.url));
    const fail = (e: Error) => {
      this.failed ??= e;
      onGone(this);
      for (const w of this.waiting.values()) w.reject(this.failed);
      this.waiting.clear();
    };
    this.worker.on("message", (m: TsReply) => this.settle(m));
    this.worker.on("error", (e) => fail(e instanceof Error ? e : new Error(String(e))));
    this.worker.on("exit", (code) => fail(new Error(`the compiler's TypeScript worker stopped (exit code ${code})`)));
    this.worker.unref(); // after the listeners: adding a "message" listener refs the worker again
  }

  extern(req: ExternRequest): Promise<ExternOutcome> {
    return this.request({ op: "extern", extern: req }) as Promise<ExternOutcome>;
  }

  emit(ir: IrSpec, opts: EmitOptions): Promise<EmitAnswer> {
    return this.request({ op: "emit", ir, opts }) as Promise<EmitAnswer>;
  }

  private request(req: Omit<TsRequest, "id">): Promise<unknown> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      if (this.waiting.size === 1) this.worker.ref(); // an answer is awaited: stay alive for it
      this.worker.postMessage({ ...req, id } satisfies TsRequest);
    });
  }

  private settle(m: TsReply): void {
    const w = this.waiting.get(m.id);
    if (!w) return;
    this.waiting.delete(m.id);
    if (!this.waiting.size) this.worker.unref();
    if (m.error) {
      const e = new Error(m.error.message);
      if (m.error.stack) e.stack = m.error.stack;
      w.reject(e);
    } else w.resolve(m.value);
  }
}

let current: TsThread | undefined;

/** The process's TypeScript worker (started on first use) when FTI_TS_WORKER=1, else undefined: all in this thread. */
export function tsThread(): TsThread | undefined {
  if (process.env.FTI_TS_WORKER !== "1") return undefined;
  return (current ??= new TsThread((gone) => {
    if (current === gone) current = undefined;
  }));
}
