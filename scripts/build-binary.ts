// scripts/build-binary's work: one `bun build --compile` per target, every shipped file embedded under its
// repository path (src/project-files.ts finds them there), the recorder worker as a second entry point, the
// SQL parser's WASM handed to its loader by a build plugin, then SHA256SUMS and an SBOM.
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { basename, join, resolve } from "node:path";
import type { BunPlugin } from "bun";
import { cycloneDxFromLockfile } from "./lib/sbom.ts";

const ROOT = resolve(import.meta.dir, "..");
// CUSTOS_DIST moves the output (the tests build into a temporary directory).
const DIST = resolve(process.env.CUSTOS_DIST ?? join(ROOT, "dist"));
const TARGETS = { "linux-x64": "bun-linux-x64", "linux-arm64": "bun-linux-arm64" } as const;
type Target = keyof typeof TARGETS;

// Read at run time through src/project-files.ts projectFile(). Each is embedded under its last name, so
// those must differ (checked below).
const ASSETS = [
  "src/audit/migrations",
  "src/audit/evidence/verifier.py",
  "policy/dist/default-bundle.tar.gz",
  "node_modules/@electric-sql/pglite/dist/pglite.wasm",
  "node_modules/@electric-sql/pglite/dist/pglite.data",
  "node_modules/@electric-sql/pglite/dist/initdb.wasm",
];

/**
 * libpg-query's Emscripten loader looks for libpg-query.wasm beside `__dirname`, which the bundler bakes in
 * as the build machine's path. Its ESM front (wasm/index.js) starts the module with no options; here it is
 * given a locateFile that returns the embedded copy's path (a `type: "file"` import).
 */
const libpgQueryWasm: BunPlugin = {
  name: "libpg-query-wasm",
  setup(build) {
    build.onLoad({ filter: /libpg-query[/\\]wasm[/\\]index\.js$/ }, async (args) => {
      const text = await Bun.file(args.path).text();
      const call = "PgQueryModule()";
      if (!text.includes(call)) throw new Error(`libpg-query changed: ${call} not found in ${args.path}`);
      return {
        loader: "js",
        contents: `import __custosPgQueryWasm from "./libpg-query.wasm" with { type: "file" };\n${text.replace(
          call,
          'PgQueryModule({ locateFile: (p) => (p.endsWith(".wasm") ? __custosPgQueryWasm : p) })',
        )}`,
      };
    });
  },
};

function git(args: string[]): string {
  const p = Bun.spawnSync(["git", ...args], { cwd: ROOT, stdout: "pipe", stderr: "ignore" });
  return p.exitCode === 0 ? p.stdout.toString().trim() : "";
}

export function buildStamp(): { version: string; commit: string; date: string } {
  const version = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string })
    .version;
  // CUSTOS_COMMIT for builds without .git (the Docker build context).
  const head = process.env.CUSTOS_COMMIT || git(["rev-parse", "HEAD"]) || "unknown";
  const dirty = git(["status", "--porcelain", "--untracked-files=no"]) ? "+dirty" : "";
  // SOURCE_DATE_EPOCH (reproducible-builds.org) pins the date; else the commit's time, so a rebuild of one
  // clean commit is stamped the same (a dirty tree is stamped now).
  const epoch = process.env.SOURCE_DATE_EPOCH ?? (dirty ? "" : git(["log", "-1", "--format=%ct"]));
  const date = new Date(epoch ? Number(epoch) * 1000 : Date.now()).toISOString();
  return { version, commit: `${head}${dirty}`, date };
}

/**
 * The demo database, initialised and loaded once at build time (initdb in PGlite costs seconds and ~900 MB
 * at first start otherwise). Cached outside the clone by its key (fixture and PGlite version), copied into
 * DIST/.build/demo-snapshot, which is embedded.
 */
async function demoSnapshotDir(): Promise<string> {
  const { PGlite } = await import("@electric-sql/pglite");
  const { fixtureSql } = await import("../src/demo/fixture.ts");
  const { EMBEDDED_SNAPSHOT_DIR, snapshotPath, writeSnapshot } = await import("../src/demo/snapshot.ts");
  const cache = join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "custos", "demo-snapshot");
  const sql = fixtureSql();
  const cached = snapshotPath(cache, sql);
  if (!existsSync(cached)) {
    const db = await PGlite.create();
    await db.exec(sql);
    await writeSnapshot(db, cached, cache);
    await db.close();
  }
  const dir = join(DIST, ".build", EMBEDDED_SNAPSHOT_DIR);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  copyFileSync(cached, join(dir, basename(cached)));
  return dir;
}

export async function buildBinary(target: Target, outfile = join(DIST, `custos-${target}`)): Promise<string> {
  const assets = [...ASSETS, await demoSnapshotDir()];
  const names = assets.map((a) => a.split("/").at(-1));
  if (new Set(names).size !== names.length) throw new Error("two assets share a last name");
  const stamp = buildStamp();
  const result = await Bun.build({
    entrypoints: [join(ROOT, "src/cli/main.ts"), join(ROOT, "src/audit/recorder-worker.ts")],
    root: ROOT,
    compile: {
      target: TARGETS[target],
      outfile,
      assets,
      // The operator's .env or bunfig.toml in the working directory must not change the gateway.
      autoloadDotenv: false,
      autoloadBunfig: false,
    },
    define: {
      CUSTOS_BUILD_COMMIT: JSON.stringify(stamp.commit),
      CUSTOS_BUILD_DATE: JSON.stringify(stamp.date),
    },
    naming: { asset: "[dir]/[name].[ext]" },
    plugins: [libpgQueryWasm],
    minify: { whitespace: true, syntax: true, identifiers: false },
    sourcemap: "none",
  });
  if (!result.success) {
    for (const log of result.logs) console.error(log);
    throw new Error(`build for ${target} failed`);
  }
  return outfile;
}

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const targets = (args.length ? args : Object.keys(TARGETS)) as Target[];
  for (const t of targets)
    if (!(t in TARGETS)) throw new Error(`unknown target ${t} (${Object.keys(TARGETS).join(", ")})`);
  mkdirSync(DIST, { recursive: true });
  const built: string[] = [];
  for (const t of targets) {
    const started = performance.now();
    const out = await buildBinary(t);
    built.push(out);
    console.error(`built ${out} in ${Math.round(performance.now() - started)} ms`);
  }
  const stamp = buildStamp();
  const sbom = join(DIST, "custos.cdx.json");
  writeFileSync(sbom, `${JSON.stringify(cycloneDxFromLockfile(ROOT, stamp), null, 2)}\n`);
  const sums = [...built, sbom].map((p) => `${sha256(p)}  ${p.slice(DIST.length + 1)}`).join("\n");
  writeFileSync(join(DIST, "SHA256SUMS"), `${sums}\n`);
  console.error(`wrote ${join(DIST, "SHA256SUMS")} and ${sbom}`);
}
