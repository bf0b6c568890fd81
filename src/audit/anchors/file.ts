// The file anchor: per log, `<path>/<log>.pub` (the public key file, written once) and
// `<path>/<log>.checkpoints` (every signed note, appended with O_APPEND). Meant for other storage (a WORM
// mount, an NFS share the gateway's admins cannot rewrite); `audit verify --anchor PATH` reads it back.
import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { AnchoredCheckpoint, AnchorPublicKey, CheckpointAnchor } from "../anchor.ts";
import { publicKeyFile } from "../trust.ts";

/** Log ids are `gw-<uuid>` (instance-id.ts); anything that could climb out of the directory is refused. */
const SAFE_LOG_ID = /^[A-Za-z0-9_.-]+$/;

export function fileAnchor(name: string, dir: string): CheckpointAnchor {
  const keyWritten = new Set<string>();
  return {
    name,
    async publish(cp: AnchoredCheckpoint, key: AnchorPublicKey) {
      if (!SAFE_LOG_ID.test(cp.logId) || cp.logId.startsWith(".")) {
        throw new Error(`log id ${cp.logId} cannot name a file`);
      }
      if (!keyWritten.has(cp.logId)) {
        await mkdir(dir, { recursive: true });
        const pub = join(dir, `${cp.logId}.pub`);
        const text = publicKeyFile(key.raw, cp.logId);
        try {
          await writeFile(pub, text, { flag: "wx", mode: 0o444 });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
          // Written once: a different key there is an attack or a misconfiguration, never overwritten.
          const have = await readFile(pub, "utf8");
          if (!have.includes(key.vkey)) throw new Error(`${pub} holds another key; not overwritten`);
        }
        keyWritten.add(cp.logId);
      }
      await appendFile(join(dir, `${cp.logId}.checkpoints`), cp.note, { flag: "a", mode: 0o644 });
    },
  };
}
