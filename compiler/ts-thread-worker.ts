// The compiler's TypeScript worker (started by ts-thread.ts): the thread that
// holds the TypeScript project. It loads TypeScript as soon as it starts,
// while the main thread parses and checks the spec; then it answers `extern fn` checks and
// prints and type-checks the generated modules. Every answer is plain data.

import { parentPort } from "node:worker_threads";
import { inspectExtern, type ExternRequest } from "./checker/extern-inspect.ts";
import { writeCodeCaches } from "./code-cache.ts";
import type { EmitOptions } from "./emit/project.ts";
import type { IrSpec } from "./ir.ts";
import { tsMorph } from "./ts-project.ts";
import type { TsRequest, TsReply, EmitAnswer } from "./ts-thread.ts";

const port = parentPort!;

/**
 * Loads TypeScript before the first request. (Parsing the ES library and
 * zod's declarations here too would cost a compile whose checks are all
 * cached a second of CPU for nothing: the first check that runs parses them.)
 */
function warmUp(): void {
  tsMorph();
}

async function emit(ir: IrSpec, opts: EmitOptions): Promise<EmitAnswer> {
  const { irSchema } = await import("./ir-schema.ts");
  const parsed: IrSpec = irSchema.parse(ir); // the boundary into the emitters (the schema is the IR type: ir-schema.ts)
  const { emitSpec } = await import("./emit/project.ts");
  try {
    const { files, diagnostics } = emitSpec(parsed, opts);
    return { files, diagnostics };
  } catch (e) {
    // The type-check reads the output directory's surroundings on disk: an unusable one can fail here.
    const err = e as NodeJS.ErrnoException;
    if (!err.code) throw e;
    return { ioError: { message: err.message, code: err.code, syscall: err.syscall, path: err.path } };
  } finally {
    writeCodeCaches(); // this thread is stopped, not exited: its exit hook would not run
  }
}

async function answer(req: TsRequest): Promise<unknown> {
  if (req.op === "extern") return inspectExtern(req.extern as ExternRequest);
  return emit(req.ir!, req.opts!);
}

port.on("message", (req: TsRequest) => {
  answer(req).then(
    (value) => port.postMessage({ id: req.id, value } satisfies TsReply),
    (e: Error) => port.postMessage({ id: req.id, error: { message: e?.message ?? String(e), stack: e?.stack } } satisfies TsReply),
  );
});

warmUp();
