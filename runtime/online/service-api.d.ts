// The type of runtime/online/service.ts as public.ts's lazy import sees it
// (package.json "imports": `#online-service`, condition "types"). Type-checking
// generated code against runtime/api.ts then reads these few lines instead of
// the service and everything it loads (DuckDB, onnxruntime, Fastify). Node
// and tsx ignore the condition and load service.ts itself, which asserts that
// its `openLocalService` has this type.

import type { SpecBundle } from "../api.ts";
import type { LocalService, LocalServiceOptions } from "./types.ts";

export declare function openLocalService(bundle: SpecBundle, opts?: LocalServiceOptions): Promise<LocalService>;
