// Builds the SIEM streamer from the resolved `siem:` config: one sink per entry, a read handle on the audit
// store and the cursor table. Null when no sink is configured.
import type { SiemSinkConfig } from "../../config/siem-schema.ts";
import type { Logger } from "../../core/log.ts";
import { openStore } from "../store.ts";
import { openCursorStore } from "./cursor-store.ts";
import { fileSink } from "./file-sink.ts";
import { httpSink } from "./http-sink.ts";
import type { Sink } from "./sink.ts";
import { SiemStreamer } from "./streamer.ts";
import { syslogSink } from "./syslog-sink.ts";

export function createSink(c: SiemSinkConfig): Sink {
  switch (c.type) {
    case "syslog":
      return syslogSink(c);
    case "http":
      return httpSink(c);
    case "file":
      return fileSink(c);
  }
}

export async function openSiem(opts: {
  sinks: SiemSinkConfig[];
  storeUrl: string;
  logId: string;
  publicKey: Uint8Array;
  logger: Logger;
  version: string;
  redact?: (text: string) => string;
  pollMs?: number;
}): Promise<{ streamer: SiemStreamer; close(): Promise<void> } | null> {
  if (opts.sinks.length === 0) return null;
  const store = await openStore(opts.storeUrl);
  const cursors = await openCursorStore(opts.storeUrl);
  const streamer = new SiemStreamer({
    store,
    cursors,
    logId: opts.logId,
    publicKey: opts.publicKey,
    sinks: opts.sinks.map(createSink),
    logger: opts.logger,
    version: opts.version,
    ...(opts.redact ? { redact: opts.redact } : {}),
    ...(opts.pollMs ? { pollMs: opts.pollMs } : {}),
  });
  streamer.start();
  return {
    streamer,
    async close() {
      await streamer.stop();
      await cursors.close();
      await store.close();
    },
  };
}
