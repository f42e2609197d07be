// Hand-run timing for the GBDT trainer (not a test):
//   npx tsx bench/gbdt-scratch.ts [rows=1000000] [trees=200] [depth=6] [task=regression|binary_classification]
import { trainModel, predict, computeMetrics, baselinePredictions } from "../runtime/train/index.ts";

const n = Number(process.argv[2] ?? 1_000_000);
const trees = Number(process.argv[3] ?? 200);
const depth = Number(process.argv[4] ?? 6);
const task = (process.argv[5] ?? "regression") as "regression" | "binary_classification";
const d = 12;

let s = 12345 >>> 0;
const rnd = () => {
  s = (s + 0x6d2b79f5) >>> 0;
  let t = s;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const X = new Float32Array(n * d);
const y = new Float64Array(n);
for (let i = 0; i < n; i++) {
  const o = i * d;
  for (let j = 0; j < d; j++) X[o + j] = j === 11 ? Math.floor(rnd() * 5) : rnd() * 4 - 2;
  if (rnd() < 0.1) X[o + 3] = NaN;
  const x3 = Number.isNaN(X[o + 3]) ? 1 : X[o + 3];
  const f = Math.sin(X[o] * 2) * 3 + X[o + 1] ** 2 + X[o + 2] * x3 + 0.5 * X[o + 11] + (rnd() - 0.5);
  y[i] = task === "regression" ? f : rnd() < 1 / (1 + Math.exp(-(f - 1.5))) ? 1 : 0;
}

const c0 = process.cpuUsage();
const t0 = performance.now();
const model = trainModel("gbdt", task, X, n, d, y, { trees, depth, learning_rate: 0.1, min_leaf: 20, bins: 255, l2: 0 });
const t1 = performance.now();
const c1 = process.cpuUsage();
const pred = predict(model, X, n, d);
const t2 = performance.now();
const c2 = process.cpuUsage();
const cpu = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) => ((b.user - a.user + b.system - a.system) / 1e6).toFixed(2);
console.log(`gbdt ${task}: ${n} rows x ${d} features, ${trees} trees depth ${depth}`);
console.log(`train ${((t1 - t0) / 1000).toFixed(2)} s wall (${cpu(c0, c1)} s CPU), predict ${((t2 - t1) / 1000).toFixed(2)} s wall (${cpu(c1, c2)} s CPU)`);
console.log("train metrics", computeMetrics(task, y, pred));
console.log("baseline", computeMetrics(task, y, baselinePredictions(task, y, n)));
