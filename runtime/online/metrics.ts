// Prometheus metrics of the service, in the text exposition format (0.0.4):
// prediction requests by model and HTTP status, a latency histogram per
// model, and a few gauges the scrape reads from the service's state.

const BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

interface Histogram {
  counts: number[]; // per bucket (not cumulative), plus +Inf at the end
  sum: number;
  count: number;
}

function label(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function num(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  return String(v);
}

export interface Gauge {
  name: string;
  help: string;
  /** Default gauge; a counter read from the service's state is rendered with its type. */
  type?: "gauge" | "counter";
  values: Array<{ labels: Record<string, string>; value: number }>;
}

/** A histogram per value of one label (e.g. per stream source), rendered after the gauges. */
export class HistogramSet {
  private readonly series = new Map<string, Histogram>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelName: string,
  ) {}

  observe(labelValue: string, seconds: number): void {
    let h = this.series.get(labelValue);
    if (!h) this.series.set(labelValue, (h = { counts: new Array(BUCKETS_S.length + 1).fill(0), sum: 0, count: 0 }));
    let i = 0;
    while (i < BUCKETS_S.length && seconds > BUCKETS_S[i]) i++;
    h.counts[i]++;
    h.sum += seconds;
    h.count++;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`);
    out.push(`# TYPE ${this.name} histogram`);
    for (const [v, h] of [...this.series].sort()) renderHistogram(out, this.name, `${this.labelName}="${label(v)}"`, h);
  }
}

function renderHistogram(out: string[], name: string, labels: string, h: Histogram): void {
  let cum = 0;
  BUCKETS_S.forEach((b, i) => {
    cum += h.counts[i];
    out.push(`${name}_bucket{${labels},le="${b}"} ${cum}`);
  });
  cum += h.counts[BUCKETS_S.length];
  out.push(`${name}_bucket{${labels},le="+Inf"} ${cum}`);
  out.push(`${name}_sum{${labels}} ${num(h.sum)}`);
  out.push(`${name}_count{${labels}} ${h.count}`);
}

export class Metrics {
  private readonly requests = new Map<string, number>(); // `${model}\u0000${status}`
  private readonly latency = new HistogramSet("fti_predict_duration_seconds", "Prediction request latency (server side, routing to reply).", "model");
  private readonly started = Date.now();

  /** One prediction request: its model (or "unknown"), HTTP status and duration. */
  observe(model: string, status: number, seconds: number): void {
    const k = `${model}\u0000${status}`;
    this.requests.set(k, (this.requests.get(k) ?? 0) + 1);
    this.latency.observe(model, seconds);
  }

  /** Requests counted so far for a model and status (for tests and the health page). */
  count(model: string, status?: number): number {
    let n = 0;
    for (const [k, v] of this.requests) {
      const [m, s] = k.split("\u0000");
      if (m === model && (status === undefined || Number(s) === status)) n += v;
    }
    return n;
  }

  render(gauges: Gauge[] = [], histograms: HistogramSet[] = []): string {
    const out: string[] = [];
    out.push("# HELP fti_predict_requests_total Prediction requests by model and HTTP status.");
    out.push("# TYPE fti_predict_requests_total counter");
    for (const [k, v] of [...this.requests].sort()) {
      const [model, status] = k.split("\u0000");
      out.push(`fti_predict_requests_total{model="${label(model)}",status="${status}"} ${v}`);
    }
    this.latency.render(out);
    out.push("# HELP fti_uptime_seconds Seconds since the service started.");
    out.push("# TYPE fti_uptime_seconds gauge");
    out.push(`fti_uptime_seconds ${num((Date.now() - this.started) / 1000)}`);
    for (const g of gauges) {
      out.push(`# HELP ${g.name} ${g.help}`);
      out.push(`# TYPE ${g.name} ${g.type ?? "gauge"}`);
      for (const v of g.values) {
        const ls = Object.entries(v.labels).map(([k, x]) => `${k}="${label(x)}"`).join(",");
        out.push(`${g.name}${ls ? `{${ls}}` : ""} ${num(v.value)}`);
      }
    }
    for (const h of histograms) h.render(out);
    return out.join("\n") + "\n";
  }
}
