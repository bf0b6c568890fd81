// One recorded protocol message. Frames are msgpack-encoded in batches by audit/; protocols produce them.

export type Direction = "client" | "server";

export interface Frame {
  /** Epoch microseconds. */
  t: number;
  /** Who sent it: the client (agent) or the server (upstream). */
  dir: Direction;
  /** Protocol message kind, e.g. `Query`, `Parse`, `DataRow`, `CommandComplete`. */
  kind: string;
  /** The decoded content that matters; never passwords or tokens. Byte values stay Uint8Array. */
  data?: Record<string, unknown>;
}
