// The stream commands: `fti replay` (a stream source's last days, sent again as
// live events to a running server). Same deps and conventions as commands.ts.

import type { Command } from "commander";
import { storeOption, withStore, type RuntimeCliDeps } from "./commands.ts";
import { durationFlag, positiveNumberFlag } from "./flags.ts";
import { UserError } from "../errors.ts";
import { readInputFile, TOKEN_FILE_LIMIT_BYTES } from "../input-file.ts";

const log = (line: string) => process.stderr.write(line + "\n");
const out = (line: string) => process.stdout.write(line + "\n");

export function registerStreamCommands(program: Command, deps: RuntimeCliDeps): void {
  storeOption(
    program
      .command("replay")
      .description("send a stream source's last days of rows again, as live events, to a running `fti serve` (a demo of streaming features)")
      .argument("<spec>", ".fti file")
      .option("--source <name>", "the stream source (default: the spec's only one)")
      .option("--last <duration>", "how much of the end of the source to replay", "3d")
      .option("--speed <n>", "event time per real time (3600: an hour of events per second)", "3600")
      .option("--url <url>", "the server", "http://127.0.0.1:8080")
      .option("--token-file <file>", "the API token (`Authorization: Bearer`), if the server needs one; else $FTI_TOKEN"),
  ).action(async (spec: string, opts: { source?: string; last: string; speed: string; url: string; tokenFile?: string; store?: string }) => {
    const speed = positiveNumberFlag(opts.speed, "--speed")!; // usage first (exit 2), before the spec is loaded
    const lastMs = durationFlag(opts.last, "--last")!;
    const bundle = await deps.loadSpec(spec);
    const streams = bundle.sources.filter((s) => s.stream).map((s) => s.name);
    const source = opts.source ?? (streams.length === 1 ? streams[0] : undefined);
    if (!source) throw new UserError(`spec \`${bundle.name}\` has ${streams.length ? `several stream sources (${streams.join(", ")}): pass --source` : "no stream source"}`);
    const token = opts.tokenFile ? readInputFile(opts.tokenFile, "--token-file", TOKEN_FILE_LIMIT_BYTES).toString("utf8").split("\n")[0].trim() : process.env.FTI_TOKEN?.split(",")[0];
    const { replayEvents } = await import("../stream/replay.ts");
    const r = await withStore(
      opts,
      (store) =>
        replayEvents(store, bundle, {
          url: opts.url,
          source,
          lastMs,
          speed,
          token,
          onProgress: (p) => log(`replayed ${p.sent}/${p.total} events of ${source} (up to ${p.replayedTo}), ${p.accepted} accepted`),
        }),
      { readOnly: true },
    );
    out(`replay ${r.source}: ${r.total} events sent in ${(r.ms / 1000).toFixed(1)} s: ${r.accepted} accepted, ${r.duplicates} duplicates, ${r.late} late`);
  });
}
