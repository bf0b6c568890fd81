// pg-cursor and pg-copy-streams ship no types; the probes use this much of them (both are pg Submittables).
declare module "pg-cursor" {
  import type { Connection, Submittable } from "pg";
  export default class Cursor implements Submittable {
    constructor(text: string, values?: unknown[]);
    submit(connection: Connection): void;
    read(rows: number): Promise<Record<string, unknown>[]>;
    close(): Promise<void>;
  }
}
declare module "pg-copy-streams" {
  import type { Duplex } from "node:stream";
  import type { Connection } from "pg";
  export function from(text: string): Duplex & { submit(connection: Connection): void };
  export function to(text: string): Duplex & { submit(connection: Connection): void };
}
