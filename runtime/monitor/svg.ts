// Server-rendered SVG charts for the monitoring page: lines and bars over
// time, horizontal threshold lines and vertical markers (model versions).
// No script, no CDN. Every drawn value carries its number in data attributes
// (`data-series`, `data-x`, `data-value`), so tests and readers can check what
// a chart shows against what was measured.

export interface Series {
  name: string;
  points: Array<{ x: number; y: number }>;
}

export interface ChartSpec {
  id: string;
  series: Series[];
  kind?: "line" | "bar";
  thresholds?: Array<{ y: number; label: string }>;
  markers?: Array<{ x: number; label: string }>;
  yLabel: string;
}

const W = 760;
const H = 230;
const M = { left: 56, right: 150, top: 12, bottom: 28 };
const COLORS = ["#2f6feb", "#d9480f", "#2b8a3e", "#862e9c", "#e67700", "#0b7285", "#c2255c", "#5c940d", "#364fc7", "#a61e4d"];

export function escXml(text: unknown): string {
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function short(y: number): string {
  const a = Math.abs(y);
  return a >= 1e4 ? y.toExponential(1) : a >= 100 ? y.toFixed(0) : String(Number(y.toPrecision(3)));
}

const day = (x: number) => new Date(x).toISOString().slice(0, 10);

interface Scale {
  x: (v: number) => number;
  y: (v: number) => number;
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

function scale(spec: ChartSpec, barSlots: number): Scale {
  const xs = spec.series.flatMap((s) => s.points.map((p) => p.x)).concat((spec.markers ?? []).map((m) => m.x));
  const ys = spec.series.flatMap((s) => s.points.map((p) => p.y)).concat((spec.thresholds ?? []).map((t) => t.y));
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const y0 = Math.min(0, ...ys);
  const y1 = Math.max(...ys, y0 + 1e-9) * 1.08;
  const plotW = W - M.left - M.right;
  const pad = barSlots > 0 ? plotW / (2 * barSlots) : 0;
  return {
    x: (v) => M.left + pad + (x1 === x0 ? (plotW - 2 * pad) / 2 : ((v - x0) / (x1 - x0)) * (plotW - 2 * pad)),
    y: (v) => M.top + (1 - (v - y0) / (y1 - y0)) * (H - M.top - M.bottom),
    x0,
    x1,
    y0,
    y1,
  };
}

function axes(s: Scale, yLabel: string): string {
  const parts: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const v = s.y0 + ((s.y1 - s.y0) * i) / 4;
    const y = s.y(v);
    parts.push(`<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" stroke="#e6e9ef"/>`);
    parts.push(`<text x="${M.left - 6}" y="${y + 4}" text-anchor="end" font-size="11" fill="#5b6575">${escXml(short(v))}</text>`);
  }
  const ticks = s.x1 === s.x0 ? [s.x0] : [s.x0, (s.x0 + s.x1) / 2, s.x1];
  for (const t of ticks) parts.push(`<text x="${s.x(t)}" y="${H - 8}" text-anchor="middle" font-size="11" fill="#5b6575">${day(t)}</text>`);
  parts.push(`<text x="12" y="${M.top + 10}" font-size="11" fill="#5b6575">${escXml(yLabel)}</text>`);
  return parts.join("");
}

function seriesSvg(spec: ChartSpec, s: Scale): string {
  const parts: string[] = [];
  const bars = spec.kind === "bar";
  const slotW = bars ? (W - M.left - M.right) / Math.max(1, new Set(spec.series.flatMap((x) => x.points.map((p) => p.x))).size) : 0;
  spec.series.forEach((series, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = [...series.points].sort((a, b) => a.x - b.x);
    const attrs = (p: { x: number; y: number }) => `data-series="${escXml(series.name)}" data-x="${new Date(p.x).toISOString()}" data-value="${p.y}"`;
    if (bars) {
      const w = Math.max(1, (slotW * 0.8) / spec.series.length);
      for (const p of pts) {
        const x = s.x(p.x) - (slotW * 0.8) / 2 + i * w;
        parts.push(`<rect class="bar" ${attrs(p)} x="${x}" y="${s.y(Math.max(0, p.y))}" width="${w}" height="${Math.abs(s.y(0) - s.y(p.y))}" fill="${color}"><title>${escXml(series.name)} ${day(p.x)}: ${escXml(short(p.y))}</title></rect>`);
      }
    } else {
      if (pts.length > 1) parts.push(`<polyline class="line" data-series="${escXml(series.name)}" fill="none" stroke="${color}" stroke-width="1.8" points="${pts.map((p) => `${s.x(p.x)},${s.y(p.y)}`).join(" ")}"/>`);
      for (const p of pts) parts.push(`<circle class="point" ${attrs(p)} cx="${s.x(p.x)}" cy="${s.y(p.y)}" r="3" fill="${color}"><title>${escXml(series.name)} ${day(p.x)}: ${escXml(short(p.y))}</title></circle>`);
    }
    parts.push(`<text class="legend" x="${W - M.right + 10}" y="${M.top + 12 + i * 15}" font-size="11" fill="${color}">${escXml(series.name)}</text>`);
  });
  return parts.join("");
}

/** One chart as an inline <svg>; an empty series list gives a short note instead. */
export function chart(spec: ChartSpec): string {
  if (!spec.series.some((s) => s.points.length)) return `<p class="empty" id="${escXml(spec.id)}-empty">nothing measured yet</p>`;
  const s = scale(spec, spec.kind === "bar" ? new Set(spec.series.flatMap((x) => x.points.map((p) => p.x))).size : 0);
  const thresholds = (spec.thresholds ?? [])
    .map((t) => `<line class="threshold" data-value="${t.y}" x1="${M.left}" x2="${W - M.right}" y1="${s.y(t.y)}" y2="${s.y(t.y)}" stroke="#c92a2a" stroke-dasharray="5 4"/><text x="${W - M.right - 4}" y="${s.y(t.y) - 4}" text-anchor="end" font-size="10" fill="#c92a2a">${escXml(t.label)}</text>`)
    .join("");
  const markers = (spec.markers ?? [])
    .map((m) => `<line class="marker" data-label="${escXml(m.label)}" data-x="${new Date(m.x).toISOString()}" x1="${s.x(m.x)}" x2="${s.x(m.x)}" y1="${M.top}" y2="${H - M.bottom}" stroke="#495057" stroke-dasharray="2 3"/><text x="${s.x(m.x) + 3}" y="${M.top + 10}" font-size="10" fill="#495057">${escXml(m.label)}</text>`)
    .join("");
  return `<svg id="${escXml(spec.id)}" class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" xmlns="http://www.w3.org/2000/svg">${axes(s, spec.yLabel)}${thresholds}${markers}${seriesSvg(spec, s)}</svg>`;
}
