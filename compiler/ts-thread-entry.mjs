// The entry of the compiler's TypeScript worker (ts-thread.ts): registers tsx
// in this thread, then runs the worker's TypeScript.
import { register } from "tsx/esm/api";

register();
await import("./ts-thread-worker.ts");
