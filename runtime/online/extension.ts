// What a folder above online/ may add to `fti serve` without online/ importing
// it: data read in each reload (the store is open read-only only then), gauges
// for /metrics and HTML pages per served model. The composition root (the
// `serve` command, tests) hands the extensions to startServer / OnlineService;
// runtime/monitor-page is the one that exists (/monitor/<model>).

import type { Store } from "../store/store.ts";
import type { Gauge } from "./metrics.ts";
import type { OnlineService } from "./service.ts";

/** A page per served model at `GET <path>/<model>`, linked from the index as `label`. */
export interface ModelPage {
  path: string;
  label: string;
  render(service: OnlineService, model: string): string;
}

export interface ServiceExtension {
  /**
   * Called in every reload, after the models and the online tables, with the
   * read-only store and the served models. A throw is logged; the reload
   * (models and features) stands.
   */
  reload?(store: Store, models: readonly string[]): Promise<void>;
  /** Gauges appended to /metrics. */
  gauges?(): Gauge[];
  pages?: readonly ModelPage[];
}
