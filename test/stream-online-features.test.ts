// An entity's online features as MCP's get_online_features and an agent's context read them are the
// row a prediction reads: with a stream, the row its events updated. They read the materialised row
// only (a run pushed to the athlete's stream moved the prediction's ctl but not get_online_features'
// nor the coach's prompt), found walking the README's replay then MCP block.

import { describe, expect, it } from "vitest";
import { quotesStream, QUOTES_T0, useServedStream } from "./helpers/served-stream.ts";

const DAY = 86_400_000;
const T0 = QUOTES_T0;

const use = useServedStream(() => quotesStream("stream-online-features"));

describe("online features after a streamed event", () => {
  it("get_online_features (onlineFeatures) gives the streamed row a prediction reads", async () => {
    const svc = use.server!.service; // the server holds the stream's writer lock
    {
      const pushed = await svc.pushEvents("quotes", { symbol: "A", at: new Date(T0 + 30 * DAY + 3_600_000).toISOString(), price: 99 });
      expect(pushed.status, JSON.stringify(pushed.body)).toBe(200);
      const predicted = (await svc.predict("price", { symbol: "A" })).body as { features: Record<string, { value: unknown }> };
      expect(predicted.features.price_now.value).toBe(99);
      const online = await svc.onlineFeatures("stock", { symbol: "A" });
      expect(online.trend.price_now).toEqual({ value: 99, status: "present" });
      expect(online.trend.avg_7d.value).toBe(predicted.features.avg_7d.value);
      expect((await svc.onlineFeatures("stock", { symbol: "B" })).trend.price_now.value).toBe(11 + (29 % 7)); // untouched: the table's row
    }
  });
});
