// Calls back when a bundle file changes. Watches the directory, not the file: `opa build` and deploy
// tools replace the file (rename), which ends a watch on the old inode. Bursts of events are debounced.
// SIGHUP handling and the reload itself are the composition root's (engine.reload()). A spurious reload
// is harmless: the engine swaps only a bundle that loads.

import { type FSWatcher, watch } from "node:fs";
import { basename, dirname } from "node:path";

export interface BundleWatcher {
  close(): void;
}

export function watchBundle(path: string, onChange: () => void, debounceMs = 150): BundleWatcher {
  const name = basename(path);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const watcher: FSWatcher = watch(dirname(path), { persistent: false }, (_event, file) => {
    // Kubernetes ConfigMap volumes swap a `..data` symlink instead of touching the file itself.
    if (file !== null && file !== name && file !== "..data") return;
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  });
  return {
    close() {
      clearTimeout(timer);
      watcher.close();
    },
  };
}
