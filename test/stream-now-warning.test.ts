// `fti serve --now T` reads each group's rows as of T, but a stream's groups are its state (every stored
// event and segment line), not rewound to T: an entity whose latest event is after T is `future` and its
// features are never served. The newuser lane's replay of vega-datasets' stocks at 2009-06-15, over a
// store streamed up to 2010-03, served every feature null (one imputed prediction for every symbol)
// without a word at start; now the server warns, naming the stream's last event and the pinned time.

import { describe, expect, it } from "vitest";
import { OnlineService, type Logger } from "../runtime/online/service.ts";
import { quotesStream, QUOTES_T0, useServedStream } from "./helpers/served-stream.ts";

const DAY = 86_400_000;
const T0 = QUOTES_T0;

const use = useServedStream(() => quotesStream("stream-now-warning"));

function recording(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: () => {}, warn: (m) => lines.push(m), error: (m) => lines.push(`error: ${m}`) };
}

describe("--now before a stream's last event", () => {
  it("warns at start that the stream's groups are not read as of --now; not when --now is after it", async () => {
    const last = new Date(T0 + 29 * DAY);
    const early = new Date(T0 + 10 * DAY);
    const logger = recording();
    const open = (asOf: Date, l: Logger) => OnlineService.open(use.stream.bundle, { store: use.stream.storePath, logs: false, asOf, logger: l });
    const pinned = await open(early, logger);
    try {
      // What the warning is about: the stream's row is the latest, after the pinned time (no impute: a 422 saying so).
      const r = await pinned.predict("price", { symbol: "A" });
      expect(r.status).toBe(422);
      expect(JSON.stringify(r.body)).toContain("only rows after the request time in trend");
    } finally {
      await pinned.close();
    }
    expect(logger.lines).toContain(
      `stream quotes: its events run to ${last.toISOString()}, after --now ${early.toISOString()}; a stream's groups are not read as of --now ` +
        "(they hold every stored event), so an entity whose latest event is later is `future` and its features are never served",
    );
    const later = recording();
    await (await open(new Date(T0 + 40 * DAY), later)).close();
    expect(later.lines.filter((l) => l.includes("--now"))).toEqual([]);
  });
});
