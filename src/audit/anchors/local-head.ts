// The gateway's own record of how far its log has been signed: `<data_dir>/audit-head/<log>.note`, the latest
// signed note, replaced atomically. Not operator-grade trust (it sits on the gateway's host), but it is not
// in the store: `audit verify` without --public-key uses it, so an attacker with only the store cannot cut
// the tail or delete the log unnoticed.
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { AnchoredCheckpoint, CheckpointAnchor } from "../anchor.ts";

export const HEAD_DIR = "audit-head";

export function localHeadPath(dataDir: string, logId: string): string {
  return join(dataDir, HEAD_DIR, `${logId}.note`);
}

export function localHeadAnchor(dataDir: string): CheckpointAnchor {
  let largest = -1;
  return {
    name: "data_dir",
    async publish(cp: AnchoredCheckpoint) {
      // Queued publishes arrive in order; never move the head back.
      if (cp.size < largest) return;
      await mkdir(join(dataDir, HEAD_DIR), { recursive: true, mode: 0o700 });
      const path = localHeadPath(dataDir, cp.logId);
      const tmp = `${path}.${process.pid}.tmp`;
      await writeFile(tmp, cp.note, { mode: 0o600 });
      await rename(tmp, path);
      largest = cp.size;
    },
  };
}
