// The prediction pages: `GET /` lists the served models; `GET /models/<m>`
// is a form generated from the model's request schema (entity keys and
// request fields, typed inputs) that posts to the predict route and shows the
// prediction, the feature values with their statuses, the ODT values, and
// the model's version and test metrics. Self-contained HTML: inline CSS and
// script, no external assets. Validation errors (400) are shown next to the
// field their JSON path names.

import type { OnlineService } from "./service.ts";
import type { ServedModelInfo } from "./types.ts";

export function esc(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** JSON for a <script> block: `<` escaped so no `</script>` can close it. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

export function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "n/a";
  const a = Math.abs(v);
  return a >= 1000 ? v.toFixed(0) : a >= 1 ? v.toFixed(3).replace(/\.?0+$/, "") : Number(v.toPrecision(4)).toString();
}

const CSS = `
:root { --fg:#1d2430; --muted:#5b6573; --line:#dfe3e8; --bg:#f6f7f9; --card:#fff; --accent:#2456c6; --ok:#1b7f4b; --warn:#9a6200; --bad:#b42318; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--fg); background:var(--bg); }
header { background:#1d2430; color:#fff; padding:14px 28px; display:flex; gap:18px; align-items:baseline; }
header a { color:#c9d6f5; text-decoration:none; } header a:hover { text-decoration:underline; }
header .brand { font-weight:700; letter-spacing:.02em; color:#fff; }
main { max-width:1120px; margin:24px auto; padding:0 24px; }
h1 { font-size:24px; margin:0 0 4px; } h2 { font-size:16px; margin:0 0 12px; }
.sub { color:var(--muted); margin:0 0 20px; }
.grid { display:grid; grid-template-columns: minmax(300px, 380px) 1fr; gap:20px; align-items:start; }
@media (max-width: 820px) { .grid { grid-template-columns: 1fr; } }
.card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:18px 20px; margin-bottom:20px; }
label { display:block; font-weight:600; margin-top:12px; }
label .hint { font-weight:400; color:var(--muted); font-size:13px; margin-left:6px; }
input, select { width:100%; padding:8px 10px; margin-top:4px; border:1px solid #c3c9d1; border-radius:6px; font:inherit; background:#fff; }
input:focus, select:focus { outline:2px solid #9db6f0; border-color:var(--accent); }
input[aria-invalid="true"], select[aria-invalid="true"] { border-color:var(--bad); background:#fff6f5; }
.err { display:block; color:var(--bad); font-size:13px; min-height:0; margin-top:3px; }
button { margin-top:18px; padding:9px 18px; border:0; border-radius:6px; background:var(--accent); color:#fff; font:inherit; font-weight:600; cursor:pointer; }
button:disabled { opacity:.6; cursor:wait; }
.alert { display:none; border:1px solid #f1b5ae; background:#fff3f1; color:var(--bad); border-radius:8px; padding:10px 12px; margin-bottom:16px; white-space:pre-wrap; }
.prediction { font-size:40px; font-weight:700; letter-spacing:-.01em; }
.meta { color:var(--muted); font-size:13px; }
table { width:100%; border-collapse:collapse; font-size:14px; }
th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--muted); font-weight:600; font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
td.num { font-variant-numeric: tabular-nums; }
.badge { display:inline-block; padding:1px 8px; border-radius:999px; font-size:12px; font-weight:600; }
.s-present { background:#e3f4ea; color:var(--ok); } .s-null { background:#eceef1; color:var(--muted); }
.s-not_found { background:#fde8e6; color:var(--bad); } .s-stale, .s-future { background:#fff1d6; color:var(--warn); }
.empty { color:var(--muted); }
a.model { font-weight:600; color:var(--accent); text-decoration:none; } a.model:hover { text-decoration:underline; }
code { background:#eef1f5; padding:1px 5px; border-radius:4px; font-size:13px; }
`;

export function layout(title: string, spec: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header><a class="brand" href="/">fti</a><span>spec <code style="background:#2d3645;color:#fff">${esc(spec)}</code></span><a href="/v1/models">/v1/models</a><a href="/healthz">/healthz</a><a href="/metrics">/metrics</a></header>
<main>
${body}
</main>
</body>
</html>
`;
}

function metricsTable(info: ServedModelInfo): string {
  const names = [...new Set([...Object.keys(info.metrics), ...Object.keys(info.baseline)])];
  if (!names.length) return `<p class="empty">no metrics recorded</p>`;
  return `<table><thead><tr><th>metric</th><th>model</th><th>baseline</th></tr></thead><tbody>${names
    .map((n) => `<tr><td>${esc(n)}</td><td class="num">${esc(fmt(info.metrics[n]))}</td><td class="num">${esc(fmt(info.baseline[n]))}</td></tr>`)
    .join("")}</tbody></table>`;
}

/** Links to the extensions' pages of a model (extension.ts). */
function pageLinks(service: OnlineService, model: string): string {
  return service.extensions
    .flatMap((ext) => ext.pages ?? [])
    .map((p) => ` <a class="meta" href="${esc(p.path)}/${esc(encodeURIComponent(model))}">${esc(p.label)}</a>`)
    .join("");
}

export function indexPage(service: OnlineService): string {
  const models = service.models();
  const health = service.health();
  const rows = models
    .map(
      (m) => `<tr>
  <td><a class="model" href="/models/${esc(encodeURIComponent(m.model))}">${esc(m.model)}</a>${pageLinks(service, m.model)}</td>
  <td>${m.version === null ? '<span class="empty">none</span>' : `v${m.version}`}</td>
  <td>${esc(m.stage ?? "")}</td>
  <td>${esc(m.algorithm ?? "")} <span class="meta">${esc(m.task)}</span></td>
  <td>${Object.entries(m.metrics).map(([k, v]) => `${esc(k)} ${esc(fmt(v))}`).join(", ") || '<span class="empty">—</span>'}</td>
</tr>`,
    )
    .join("\n");
  const online = health.online
    .map((g) => `<tr><td><code>${esc(g.table)}</code></td><td class="num">${g.entities}</td><td>${g.missing ? '<span class="badge s-not_found">not materialised</span>' : esc(g.loaded_at)}</td></tr>`)
    .join("");
  return layout(
    `fti · ${service.bundle.name}`,
    service.bundle.name,
    `<h1>Served models</h1>
<p class="sub">Online predictions of spec <code>${esc(service.bundle.file)}</code>. Pick a model to try it.</p>
<div class="card"><table id="models"><thead><tr><th>model</th><th>version</th><th>stage</th><th>algorithm</th><th>test metrics</th></tr></thead><tbody>
${rows}
</tbody></table></div>
<div class="card"><h2>Online feature tables</h2><table><thead><tr><th>table</th><th>entities</th><th>loaded</th></tr></thead><tbody>${online}</tbody></table></div>`,
  );
}

export function notFoundPage(service: OnlineService, url: string): string {
  return layout(
    "not found",
    service.bundle.name,
    `<h1>Not found</h1><p class="sub">Nothing is served at <code>${esc(url)}</code>.</p><p><a class="model" href="/">Served models</a></p>`,
  );
}

function inputFor(f: ServedModelInfo["request"][number], samples: string[]): string {
  const id = `f-${f.name}`;
  const common = `id="${esc(id)}" name="${esc(f.name)}" data-type="${esc(f.type)}" aria-describedby="e-${esc(f.name)}"`;
  const required = f.nullable ? "" : " required";
  switch (f.type) {
    case "int":
      return `<input ${common} type="text" inputmode="numeric" placeholder="integer"${required}>`;
    case "float":
      return `<input ${common} type="text" inputmode="decimal" placeholder="number"${required}>`;
    case "bool":
      return `<select ${common}>${f.nullable ? '<option value="">null</option>' : ""}<option value="true">true</option><option value="false">false</option></select>`;
    case "timestamp":
      return `<input ${common} type="datetime-local" step="1"${required}>`;
    default: {
      const list = f.kind === "key" && samples.length ? ` list="l-${esc(f.name)}"` : "";
      const datalist = list ? `<datalist id="l-${esc(f.name)}">${samples.map((s) => `<option value="${esc(s)}">`).join("")}</datalist>` : "";
      return `<input ${common} type="text" autocomplete="off"${list}${required}>${datalist}`;
    }
  }
}

/** The request form's fields, and the entities the page can suggest. */
function requestInputs(service: OnlineService, model: string, info: ReturnType<OnlineService["models"]>[number]): { fields: string; keyHint: string } {
  const samples = service.sampleKeys(model);
  const fields = info.request
    .map(
      (f) => `<label for="f-${esc(f.name)}">${esc(f.name)}<span class="hint">${esc(f.type)}${f.nullable ? ", optional" : ""} · ${f.kind === "key" ? "entity key" : "request field"}${f.type === "timestamp" ? " · UTC" : ""}</span></label>
${inputFor(f, samples[f.name] ?? [])}
<span class="err" id="e-${esc(f.name)}" data-error-for="${esc(f.name)}" role="alert"></span>`,
    )
    .join("\n");
  const known = Object.entries(samples).map(([key, values]) => `${Object.keys(samples).length > 1 ? `${esc(key)}: ` : ""}${values.slice(0, 5).map((s) => `<code>${esc(s)}</code>`).join(", ")}`);
  const keyHint = known.length ? `<p class="meta">Known entities include ${known.join("; ")}.</p>` : "";
  return { fields, keyHint };
}

export function modelPage(service: OnlineService, model: string): string {
  const info = service.models().find((m) => m.model === model)!;
  const { fields, keyHint } = requestInputs(service, model, info);
  return layout(
    `${model} · fti`,
    service.bundle.name,
    `<h1>${esc(model)}</h1>
<p class="sub" id="model-meta">${esc(info.task)} · ${esc(info.algorithm ?? "")} · view <code>${esc(info.view)}</code> · serving <strong id="model-version">${info.version === null ? "no version" : `v${info.version}`}</strong> ${info.stage ? `(${esc(info.stage)})` : ""}</p>
<div class="grid">
  <div>
    <form class="card" id="predict-form" novalidate>
      <h2>Request</h2>
      ${keyHint}
      ${fields}
      <button type="submit" id="submit">Predict</button>
    </form>
    <div class="card"><h2>Test metrics <span class="meta" id="metrics-version">v${esc(info.version ?? "-")}</span></h2><div id="metrics">${metricsTable(info)}</div></div>
  </div>
  <div>
    <div class="alert" id="error" role="alert"></div>
    <div class="card" id="result-card">
      <h2>Prediction</h2>
      <div id="result-empty" class="empty">Fill in the request and press Predict.</div>
      <div id="result" hidden>
        <div class="prediction" id="prediction" data-value=""></div>
        <div class="meta" id="probabilities" hidden></div>
        <div class="meta" id="result-meta"></div>
      </div>
    </div>
    <div class="card"><h2>Features</h2><table><thead><tr><th>feature</th><th>value</th><th>status</th></tr></thead><tbody id="features"><tr><td colspan="3" class="empty">—</td></tr></tbody></table></div>
    <div class="card"><h2>On-demand values</h2><table><thead><tr><th>ODT</th><th>value</th></tr></thead><tbody id="odts"><tr><td colspan="2" class="empty">—</td></tr></tbody></table></div>
  </div>
</div>
<script>
const MODEL = ${scriptJson(model)};
const FIELDS = ${scriptJson(info.request)};
let INFO = ${scriptJson(info)};
${MODEL_PAGE_SCRIPT}</script>`,
  );
}

/** The page's browser code after its three constants (MODEL, FIELDS, INFO): the form, its errors, the result. */
const MODEL_PAGE_SCRIPT = `const form = document.getElementById("predict-form");
const errorBox = document.getElementById("error");
const fmt = (v) => {
  if (v === null || v === undefined) return "null";
  if (typeof v !== "number") return String(v);
  const a = Math.abs(v);
  return a >= 1000 ? v.toFixed(1) : a >= 1 ? String(Number(v.toFixed(4))) : String(Number(v.toPrecision(4)));
};
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
function clearErrors() {
  errorBox.style.display = "none";
  errorBox.textContent = "";
  for (const el of document.querySelectorAll("[data-error-for]")) el.textContent = "";
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}
function readBody() {
  const body = {};
  for (const f of FIELDS) {
    const el = form.elements[f.name];
    const raw = el.value;
    if (raw === "") { if (f.nullable) body[f.name] = null; continue; }
    if (f.type === "int" || f.type === "float") {
      const n = Number(raw.trim());
      body[f.name] = raw.trim() !== "" && Number.isFinite(n) ? n : raw;
    } else if (f.type === "bool") body[f.name] = raw === "true";
    else if (f.type === "timestamp") body[f.name] = raw.length === 16 ? raw + ":00Z" : raw + "Z";
    else body[f.name] = raw;
  }
  return body;
}
function showError(err) {
  const general = [];
  for (const issue of err.issues || []) {
    const field = issue.path && issue.path.length ? issue.path[0] : null;
    const slot = field !== null ? document.querySelector('[data-error-for="' + CSS.escape(String(field)) + '"]') : null;
    if (slot) {
      slot.textContent = slot.textContent ? slot.textContent + "; " + issue.message : issue.message;
      const input = form.elements[field];
      if (input) input.setAttribute("aria-invalid", "true");
    } else general.push(issue.message);
  }
  const text = err.status === 400 && !general.length ? "" : err.message + (general.length && general.join("") !== err.message ? "\\n" + general.join("\\n") : "");
  if (text) { errorBox.textContent = "Error " + err.status + ": " + text; errorBox.style.display = "block"; }
}
async function refreshInfo(version) {
  if (INFO.version === version) return;
  const res = await fetch("/v1/models");
  const all = await res.json();
  const next = all.models.find((m) => m.model === MODEL);
  if (!next) return;
  INFO = next;
  document.getElementById("model-version").textContent = "v" + next.version;
  document.getElementById("metrics-version").textContent = "v" + next.version;
  const names = [...new Set([...Object.keys(next.metrics), ...Object.keys(next.baseline)])];
  document.getElementById("metrics").innerHTML = "<table><thead><tr><th>metric</th><th>model</th><th>baseline</th></tr></thead><tbody>" +
    names.map((n) => "<tr><td>" + esc(n) + "</td><td class=num>" + esc(fmt(next.metrics[n])) + "</td><td class=num>" + esc(fmt(next.baseline[n])) + "</td></tr>").join("") + "</tbody></table>";
}
function render(data) {
  document.getElementById("result-empty").hidden = true;
  document.getElementById("result").hidden = false;
  const p = document.getElementById("prediction");
  p.dataset.value = data.prediction === null ? "" : String(data.prediction);
  p.textContent = data.prediction === null ? "no prediction" : fmt(data.prediction);
  // multiclass: every class's probability, in the version's class order
  const probs = document.getElementById("probabilities");
  probs.hidden = !data.probabilities;
  probs.textContent = data.probabilities ? Object.entries(data.probabilities).map(([c, v]) => c + " " + fmt(v)).join(" · ") : "";
  document.getElementById("result-meta").textContent = data.model + " v" + data.version + " · request time " + data.request_time + " · id " + data.request_id;
  document.getElementById("features").innerHTML = Object.entries(data.features).map(([name, f]) =>
    '<tr data-feature="' + esc(name) + '"><td>' + esc(name) + '</td><td class="num">' + esc(fmt(f.value)) + '</td><td><span class="badge s-' + esc(f.status) + '">' + esc(f.status.replace("_", " ")) + "</span></td></tr>").join("") ||
    '<tr><td colspan="3" class="empty">none</td></tr>';
  document.getElementById("odts").innerHTML = Object.entries(data.odts).map(([name, v]) =>
    '<tr data-odt="' + esc(name) + '"><td>' + esc(name) + '</td><td class="num">' + esc(fmt(v)) + "</td></tr>").join("") ||
    '<tr><td colspan="2" class="empty">none</td></tr>';
}
form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearErrors();
  const button = document.getElementById("submit");
  button.disabled = true;
  try {
    const res = await fetch("/v1/models/" + encodeURIComponent(MODEL) + "/predict", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(readBody()),
    });
    const data = await res.json();
    if (!res.ok) { showError(data.error || { status: res.status, message: res.statusText }); return; }
    render(data);
    await refreshInfo(data.version);
  } catch (e) {
    showError({ status: 0, message: String(e) });
  } finally {
    button.disabled = false;
  }
});
`;
