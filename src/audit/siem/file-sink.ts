// File sink: JSON Lines appended and fsynced per batch, rotated at max_size into path.1 … path.<keep>
// (the oldest dropped), like logrotate's numbering. Asynchronous I/O only: the gateway's thread never waits.
import { appendFile, mkdir, open, rename, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";
import type { Sink } from "./sink.ts";

export interface FileSinkOptions {
  name: string;
  format: "ocsf" | "native";
  path: string;
  maxSize: number;
  keep: number;
}

export function fileSink(o: FileSinkOptions): Sink {
  return {
    name: o.name,
    format: o.format,
    async deliver(batch) {
      const text = batch.map((d) => `${JSON.stringify(d.record)}\n`).join("");
      await mkdir(dirname(o.path), { recursive: true });
      const size = await stat(o.path).then(
        (s) => s.size,
        () => 0,
      );
      if (size > 0 && size + Buffer.byteLength(text) > o.maxSize) await rotate(o.path, o.keep);
      await appendFile(o.path, text, { mode: 0o640 });
      const fh = await open(o.path, "r+");
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    },
    async close() {},
  };
}

async function rotate(path: string, keep: number): Promise<void> {
  await rm(`${path}.${keep}`, { force: true });
  for (let i = keep - 1; i >= 1; i--) {
    await rename(`${path}.${i}`, `${path}.${i + 1}`).catch(() => {});
  }
  await rename(path, `${path}.1`);
}
