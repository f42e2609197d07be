// The files `fti init` writes: a project with fti as a dependency, a
// commented starter spec (couriers and their deliveries: predict how long a
// delivery takes), sample data, a .gitignore and a README of next commands.

const SPEC = `// A starter spec: predict how long a delivery takes from the courier's recent form.
// Data: specs/data/deliveries.csv (sample rows written by \`fti init\`; put your own there).
// The language: https://github.com/fti/fti/blob/main/docs/language.md

// Where the raw events live and what each row holds; bad rows are quarantined.
source deliveries {
  path "data/deliveries.csv"
  event_time delivered_at
  unique delivery_id
  fields {
    delivery_id: string
    courier_id: string
    delivered_at: timestamp
    distance_km: float check (> 0)
    minutes: float check (> 0)  // how long the delivery took: the label
  }
}

// What the features are about.
entity courier {
  key courier_id: string
}

// Row-level features (MITs): one row per delivery, stored in the feature store.
feature_group delivery_stats for courier from deliveries {
  speed_kmh = distance_km / (minutes / 60)
  distance = distance_km
}

// Windowed features per courier: the frame of a row at time t is (t - w, t].
feature_group courier_form for courier from delivery_stats {
  speed_7d = avg(speed_kmh) over 7d
  speed_28d = avg(speed_kmh) over 28d
  deliveries_7d = count() over 7d
  longest_28d = max(distance) over 28d
}

// An on-demand transformation (ODT): the planned distance arrives with the request.
on_demand expected_minutes(request distance_km: float, courier_form.speed_28d): float =
  distance_km / speed_28d * 60

// The training data: one row per delivery, features as of just before it.
view delivery_data for courier {
  label minutes = deliveries.minutes
  features courier_form.*, expected_minutes
  ttl 60d
}

model delivery_time {
  view delivery_data
  task regression
  algorithm gbdt(trees: 60, depth: 4)
  split time(test_last: 30d)  // the last 30 days of deliveries are the test set
  metric mae, rmse
}

serve delivery_time {
  online
  batch into predictions.delivery_time
}
`;

/** A deterministic number in [0, 1) for `i` (sample data must be the same on every machine). */
function noise(i: number): number {
  const x = Math.sin(i * 12.9898 + 78.233) * 43758.5453;
  return x - Math.floor(x);
}

const DAY = 86_400_000;

/** About 4,000 deliveries of 15 couriers over the 120 days before `end`. */
export function sampleDeliveries(end: Date): string {
  const rows = ["delivery_id,courier_id,delivered_at,distance_km,minutes"];
  const start = Date.UTC(end.getUTCFullYear(), end.getUTCMonth(), end.getUTCDate()) - 120 * DAY;
  let id = 0;
  for (let c = 1; c <= 15; c++) {
    const courier = `c${String(c).padStart(2, "0")}`;
    const baseSpeed = 14 + 10 * noise(c * 7919); // km/h
    for (let day = 0; day < 120; day++) {
      const form = 1 + 0.15 * Math.sin((day + c * 11) / 9); // good and bad weeks
      const count = 1 + Math.floor(3 * noise(c * 1000 + day));
      for (let k = 0; k < count; k++) {
        id++;
        const at = new Date(start + day * DAY + (8 + 10 * noise(id * 31)) * 3_600_000);
        const distance = 1 + 9 * noise(id * 17);
        const minutes = (distance / (baseSpeed * form)) * 60 + 4 + 6 * noise(id * 53);
        rows.push(`d${String(id).padStart(5, "0")},${courier},${at.toISOString().slice(0, 19)}Z,${distance.toFixed(2)},${minutes.toFixed(1)}`);
      }
    }
  }
  return rows.join("\n") + "\n";
}

/** Planned deliveries to score: a request field (`distance_km`) has no stored value, so batch inference needs them. */
export const PLANNED_DELIVERIES = "courier_id,distance_km\nc01,3.5\nc02,8\nc07,12.4\n";

/** The commands after `npm install`, in order, with what each does: the README's block and what `fti init` prints next. */
export const NEXT_COMMANDS: [command: string, what: string][] = [
  ["npx fti compile", "check specs/*.fti, generate generated/<spec>/"],
  ["npx fti features specs/deliveries.fti", "validate the data, compute the feature groups"],
  ["npx fti train specs/deliveries.fti delivery_time", "point-in-time training data, train, evaluate, register"],
  ["npx fti predict specs/deliveries.fti delivery_time --entities specs/data/planned.csv", "batch inference into predictions.delivery_time"],
  ["npx fti materialize specs/deliveries.fti", "the online store"],
  ["npx fti serve specs/deliveries.fti", "online predictions on http://127.0.0.1:8080/ (Ctrl-C stops it)"],
];

const README = (name: string) => {
  const width = Math.max(...NEXT_COMMANDS.map(([c]) => c.length), "npm install".length) + 2;
  const line = (c: string, what: string) => `${c.padEnd(width)}# ${what}\n`;
  return `# ${name}

A feature / training / inference project built with [fti](https://www.npmjs.com/package/fti).

\`\`\`sh
${line("npm install", "fti and its runtime (not on the npm registry yet: npm install /path/to/fti, a clone after its npm ci)")}${NEXT_COMMANDS.map(([c, what]) => line(c, what)).join("")}${line("npx fti fmt", "format the specs")}\`\`\`

With \`fti serve\` running, from another terminal:

\`\`\`sh
curl -s localhost:8080/v1/models/delivery_time/predict -H 'content-type: application/json' -d '{"courier_id":"c01","distance_km":5}'
\`\`\`

- \`specs/deliveries.fti\` is the spec (every line commented); \`specs/data/\` its sample data (deliveries up to the
  day \`fti init\` ran; the view's \`ttl 60d\` makes a courier's features stale 60 days after their last delivery)
  and \`planned.csv\`, deliveries to score (\`fti predict --entities\`: the courier and the distance each request gives).
- \`generated/\` is what \`fti compile\` writes: TypeScript modules that import \`fti/runtime\`.
- \`.fti/\` holds the feature store and the model registry (git-ignored).
- Editor support: the VS Code extension of fti runs \`fti lsp --stdio\` from this project.
`;
};

const TSCONFIG = {
  compilerOptions: {
    target: "es2022",
    module: "preserve",
    moduleResolution: "bundler",
    allowImportingTsExtensions: true,
    noEmit: true,
    strict: true,
    skipLibCheck: true,
    verbatimModuleSyntax: true,
  },
  include: ["generated"],
};

// fti runs ONNX models on the CPU, whose binaries ship inside onnxruntime-node;
// left alone, its install script downloads GPU binaries from api.nuget.org (and
// `npm install` fails where that host is unreachable). Older npm reads this
// .npmrc key; npm ≥ 11.16 the package.json's allowScripts.
const NPMRC = "# fti uses onnxruntime-node's CPU binaries (in the package): skip its GPU download\nonnxruntime-node-install=skip\n";

/** Relative path → content of every file of a new project. */
export function projectFiles(name: string, ftiVersion: string, now: Date): Map<string, string> {
  const pkg = {
    name,
    version: "0.1.0",
    private: true,
    type: "module",
    scripts: { compile: "fti compile", check: "fti compile --check && fti fmt --check", fmt: "fti fmt" },
    dependencies: { fti: `^${ftiVersion}` },
    // npm ≥ 11.16 reads install-script approvals here (npm 12 runs no others): fti's builds its
    // compiler cache, esbuild's checks its binary; onnxruntime-node's is the GPU download (see NPMRC).
    allowScripts: { fti: true, esbuild: true, "onnxruntime-node": false },
  };
  return new Map([
    ["package.json", JSON.stringify(pkg, null, 2) + "\n"],
    ["tsconfig.json", JSON.stringify(TSCONFIG, null, 2) + "\n"],
    [".gitignore", ".fti/\nnode_modules/\n"],
    [".npmrc", NPMRC],
    ["README.md", README(name)],
    ["specs/deliveries.fti", SPEC],
    ["specs/data/deliveries.csv", sampleDeliveries(now)],
    ["specs/data/planned.csv", PLANNED_DELIVERIES],
  ]);
}
