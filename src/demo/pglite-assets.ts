// PGlite finds its WASM and file-system bundle beside its own module (new URL("./pglite.wasm",
// import.meta.url)); in the executable that URL points nowhere, so the embedded copies are handed to it.
// From source this returns nothing and PGlite loads its files as usual.
import type { PGliteOptions } from "@electric-sql/pglite";
import { COMPILED, projectFile } from "../project-files.ts";

const DIST = "node_modules/@electric-sql/pglite/dist";

let cached: Promise<Partial<PGliteOptions>> | undefined;

export function pgliteAssets(): Promise<Partial<PGliteOptions>> {
  if (!COMPILED) return Promise.resolve({});
  cached ??= (async () => {
    const [pglite, initdb] = await Promise.all([
      WebAssembly.compile(await Bun.file(projectFile(`${DIST}/pglite.wasm`)).arrayBuffer()),
      WebAssembly.compile(await Bun.file(projectFile(`${DIST}/initdb.wasm`)).arrayBuffer()),
    ]);
    const data = new Blob([await Bun.file(projectFile(`${DIST}/pglite.data`)).arrayBuffer()]);
    return { pgliteWasmModule: pglite, initdbWasmModule: initdb, fsBundle: data };
  })();
  return cached;
}
