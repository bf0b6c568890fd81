// `custos demo` prints a one-time link that opens the console as the demo admin: run the real command, follow
// the link, see the sessions page with a session psql just made, and see the link refused the second time.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../support/free-port.ts";

const ROOT = join(import.meta.dir, "../..");
let proc: ReturnType<typeof Bun.spawn> | null = null;
let dataDir: string;
let output = "";

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "custos-demo-console-"));
  const [port, httpPort] = [await freePort(), await freePort()];
  proc = Bun.spawn(
    [
      process.execPath,
      join(ROOT, "src/cli/main.ts"),
      "demo",
      "--port",
      `${port}`,
      "--http-port",
      `${httpPort}`,
      "--data-dir",
      dataDir,
    ],
    { cwd: ROOT, stdout: "pipe", stderr: "pipe" },
  );
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  const deadline = Date.now() + 60_000;
  while (!output.includes("Ctrl-C stops the demo") && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    output += new TextDecoder().decode(value);
  }
  reader.releaseLock();
}, 90_000);

afterAll(async () => {
  proc?.kill("SIGTERM");
  await proc?.exited;
  rmSync(dataDir, { recursive: true, force: true });
});

test("the demo's console link signs in once as the demo admin", async () => {
  const link = /(http:\/\/127\.0\.0\.1:\d+\/console\/link\?token=\S+)/.exec(output)?.[1];
  expect(link).toBeDefined();
  const psqlLine = /psql "([^"]+)"/.exec(output)?.[1];
  const made = Bun.spawn(["psql", "-X", "-At", psqlLine!, "-c", "select count(*) from customers"], {
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(await made.exited).toBe(0);

  const first = await fetch(link!, { redirect: "manual" });
  expect(first.status).toBe(200);
  const cookie = first.headers.getSetCookie()[0]!.split(";")[0]!;
  const origin = new URL(link!).origin;
  let page = "";
  for (let i = 0; i < 50 && !page.includes("demo-agent"); i++) {
    await Bun.sleep(100);
    page = await (
      await fetch(`${origin}/console/sessions`, { headers: { cookie }, redirect: "manual" })
    ).text();
  }
  expect(page).toContain("demo-admin · admin, approver");
  expect(page).toContain("demo-agent");
  expect((await fetch(link!, { redirect: "manual" })).status).toBe(401);
}, 30_000);
