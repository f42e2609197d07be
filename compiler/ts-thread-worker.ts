// The compiler's TypeScript worker (started by ts-thread.ts): the thread that
// holds the TypeScript project. It loads TypeScript and parses the ES library,
// the runtime API and zod's declarations as soon as it starts, while the main
// thread parses and checks the spec; then it answers `extern fn` checks and
// prints and type-checks the generated modules. Every answer is plain data.

import { parentPort } from "node:worker_threads";
import path from "node:path";
import { inspectExtern, type ExternRequest } from "./checker/extern-inspect.ts";
import { writeCodeCaches } from "./code-cache.ts";
import type { EmitOptions } from "./emit/project.ts";
import type { IrSpec } from "./ir.ts";
import { checkerProject, RUNTIME_API } from "./ts-project.ts";
import type { TsRequest, TsReply, EmitAnswer } from "./ts-thread.ts";

const port = parentPort!;

/** Parses what every check reads (the ES library, runtime/api.ts, zod's declarations) before the first request. */
function prime(): void {
  const project = checkerProject();
  const file = project.createSourceFile(path.join(path.dirname(RUNTIME_API), "__fti_prime__.ts"), 'import type * as $rt from "fti/runtime";\nexport type T = $rt.SpecBundle;\n', { overwrite: true });
  project.getProgram().compilerObject.getTypeChecker(); // parses and binds every file it reads
  project.removeSourceFile(file);
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

prime();
