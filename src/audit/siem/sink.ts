// A SIEM sink: delivers formatted records in order and resolves only once the receiver holds them (as far
// as its transport can tell); any doubt rejects, and the streamer delivers the same records again.
import type { StreamItem } from "./stream-item.ts";

export interface Delivery {
  item: StreamItem;
  record: Record<string, unknown>;
}

export interface Sink {
  readonly name: string;
  readonly format: "ocsf" | "native";
  deliver(batch: Delivery[]): Promise<void>;
  close(): Promise<void>;
}

/** Seq for events, size for checkpoints: what a receiver dedupes by (delivery is at least once). */
export function positionOf(item: StreamItem): { log_id: string; seq?: number; checkpoint_size?: number } {
  return item.kind === "event"
    ? { log_id: item.logId, seq: item.row.seq }
    : { log_id: item.logId, checkpoint_size: item.cp.size };
}
