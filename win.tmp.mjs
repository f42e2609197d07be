import { DuckDBInstance } from "@duckdb/node-api";
import { readFileSync } from "node:fs";
const db = await DuckDBInstance.create(":memory:"); const c = await db.connect();
for (const st of readFileSync("/tmp/win.sql","utf8").split(";").map(s=>s.trim()).filter(Boolean)) { const t=performance.now(); await c.run(st); console.log((performance.now()-t).toFixed(0),"ms", st.slice(0,40)); }
console.log(process.cpuUsage());
