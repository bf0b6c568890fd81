// Real clients against the demo database: psql as a child process, raw sockets for bytes no driver sends.
import { connect } from "node:net";
import type { DemoDatabase } from "../../src/demo/database.ts";

export function demoUrl(
  db: DemoDatabase,
  overrides: { user?: string; password?: string; database?: string } = {},
) {
  const user = overrides.user ?? db.user;
  const password = encodeURIComponent(overrides.password ?? db.password);
  return `postgres://${user}:${password}@${db.host}:${db.port}/${overrides.database ?? db.database}`;
}

export interface PsqlResult {
  code: number;
  out: string;
  err: string;
}

/** psql -At: unaligned, tuples only. Killed after 15 s so a hung server fails the test instead of the suite. */
export async function psql(url: string, ...commands: string[]): Promise<PsqlResult> {
  const proc = Bun.spawn(["/usr/bin/psql", url, "-X", "-At", ...commands.flatMap((c) => ["-c", c])], {
    stdout: "pipe",
    stderr: "pipe",
    env: { PATH: process.env.PATH ?? "", PGCONNECT_TIMEOUT: "5" },
    timeout: 15_000,
  });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, out: out.trim(), err };
}

/** Sends bytes on a fresh connection; collects everything until the server closes or `ms` passes. */
export function exchange(
  port: number,
  bytes: Uint8Array,
  ms = 2_000,
): Promise<{ reply: Buffer; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, "127.0.0.1", () => socket.write(bytes));
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ reply: Buffer.concat(chunks), closed: false });
    }, ms);
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", reject);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ reply: Buffer.concat(chunks), closed: true });
    });
  });
}

export function startupPacket(params: Record<string, string>, version = 0x00030000): Uint8Array {
  const body = Buffer.from(
    `${Object.entries(params)
      .map(([k, v]) => `${k}\0${v}\0`)
      .join("")}\0`,
  );
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + body.length, 0);
  head.writeInt32BE(version, 4);
  return Buffer.concat([head, body]);
}

/** SQLSTATE of the first ErrorResponse in `reply`, if any. */
export function sqlstateOf(reply: Buffer): string | undefined {
  const at = reply.indexOf(0x45); // 'E'
  if (at < 0) return undefined;
  return /C([0-9A-Z]{5})\0/.exec(reply.subarray(at).toString("latin1"))?.[1];
}
