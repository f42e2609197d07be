// The monitoring page and the fti_monitor_* gauges as an extension of `fti
// serve` (online/extension.ts): in each reload it reads what `fti monitor` and
// `fti run` stored for the served models; /monitor/<model> and /metrics show
// that snapshot until the next reload.

import type { ServiceExtension } from "../online/extension.ts";
import { monitorPage } from "./page.ts";
import { monitoringGauges, readMonitoring, type ModelMonitoring } from "./snapshot.ts";

/** One per service: it holds that service's snapshot. */
export function monitoringExtension(): ServiceExtension {
  let snapshot = new Map<string, ModelMonitoring>();
  return {
    async reload(store, models) {
      snapshot = await readMonitoring(store, models);
    },
    gauges: () => monitoringGauges(snapshot),
    pages: [{ path: "/monitor", label: "monitor", render: (service, model) => monitorPage(service, model, snapshot.get(model) ?? { rows: [], runs: [] }) }],
  };
}
