// Start-up time and memory of `custos serve`, the single executable against the source run by Bun:
// spawn → "gateway started" on stderr → /healthz 200, then RSS idle and after 200 /healthz requests, from
// /proc/<pid>/status. Usage: bun bench/binary-startup.ts [runs]  (builds dist/custos-linux-x64 first).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "../test/support/free-port.ts";

const ROOT = resolve(import.meta.dir, "..");
const runs = Number(process.argv[2] ?? 5);

const build = Bun.spawnSync([join(ROOT, "scripts/build-binary"), "linux-x64"], {
  cwd: ROOT,
  stderr: "inherit",
});
if (build.exitCode !== 0) throw new Error("build failed");

const rss = (pid: number) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? 0) / 1024;
};

async function once(
  cmd: string[],
): Promise<{ started: number; healthy: number; rssIdle: number; rssAfter: number }> {
  const dir = mkdtempSync(join(tmpdir(), "custos-startup-"));
  const [pg, http] = [await freePort(), await freePort()];
  const file = join(dir, "custos.yaml");
  writeFileSync(
    file,
    [
      `listen: {postgres: "127.0.0.1:${pg}", http: "127.0.0.1:${http}"}`,
      "data_dir: ./data",
      "policy: {watch: false}",
      "connections: [{name: x, type: postgres, target: {host: 127.0.0.1, port: 1, database: x, user: x}, allow_groups: [a], classification: {scan: false}}]",
    ].join("\n"),
  );
  const t0 = performance.now();
  const proc = Bun.spawn([...cmd, "serve", "--config", file], { cwd: dir, stderr: "pipe", stdout: "ignore" });
  let err = "";
  let started = 0;
  const reader = (async () => {
    for await (const chunk of proc.stderr) {
      err += new TextDecoder().decode(chunk);
      if (!started && err.includes('"gateway started"')) started = performance.now() - t0;
    }
  })();
  let healthy = 0;
  while (!healthy) {
    const ok = await fetch(`http://127.0.0.1:${http}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) healthy = performance.now() - t0;
    else await Bun.sleep(5);
    if (performance.now() - t0 > 60_000) throw new Error(`no start: ${err}`);
  }
  await Bun.sleep(1000);
  const rssIdle = rss(proc.pid);
  for (let i = 0; i < 200; i++) await fetch(`http://127.0.0.1:${http}/healthz`);
  const rssAfter = rss(proc.pid);
  proc.kill("SIGTERM");
  await proc.exited;
  await reader;
  rmSync(dir, { recursive: true, force: true });
  return { started, healthy, rssIdle, rssAfter };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const [name, cmd] of [
  ["executable", [join(ROOT, "dist/custos-linux-x64")]],
  ["source (bun src/cli/main.ts)", [process.execPath, join(ROOT, "src/cli/main.ts")]],
] as const) {
  const rows: Awaited<ReturnType<typeof once>>[] = [];
  for (let i = 0; i < runs; i++) rows.push(await once([...cmd]));
  const f = (k: keyof (typeof rows)[number], d = 0) => median(rows.map((r) => r[k])).toFixed(d);
  console.log(
    `${name.padEnd(30)} started ${f("started")} ms  /healthz 200 ${f("healthy")} ms  RSS idle ${f("rssIdle")} MiB  after 200 req ${f("rssAfter")} MiB  (median of ${runs})`,
  );
}
