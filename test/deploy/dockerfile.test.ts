// deploy/Dockerfile cannot be built here (no Docker engine): check what can be read, and run its
// HEALTHCHECK command for real against a listener answering like /healthz. Its build step is
// scripts/build-binary.ts, which test/deploy/binary.test.ts runs.
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DEPLOY, ROOT } from "./support.ts";

const TEXT = readFileSync(join(DEPLOY, "Dockerfile"), "utf8");
// Instructions with their continuation lines joined.
const lines = TEXT.replace(/\\\n/g, " ")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"));
const instr = (name: string) => lines.filter((l) => l.toUpperCase().startsWith(`${name} `));

test("pins the Bun version of scripts/lib/bun.sh, builds the executable with it, and runs only that", () => {
  const pinned = /^BUN_VERSION=(\S+)$/m.exec(readFileSync(join(ROOT, "scripts/lib/bun.sh"), "utf8"))?.[1];
  expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
  expect(instr("ARG")[0]).toBe(`ARG BUN_VERSION=${pinned}`);
  const froms = instr("FROM");
  expect(froms).toEqual(["FROM oven/bun:${BUN_VERSION}-slim AS build", "FROM debian:12-slim AS runtime"]);
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, not a template.
  expect(TEXT).toContain('test "$(bun --version)" = "${BUN_VERSION}"');
  expect(TEXT).toContain("bun install --frozen-lockfile --production");
  expect(TEXT).toContain('bun scripts/build-binary.ts "linux-$arch"');
  // The runtime stage has the executable and nothing of Bun or the sources.
  const runtime = lines.slice(lines.findLastIndex((l) => l.startsWith("FROM ")));
  const copies = runtime.filter((l) => l.startsWith("COPY "));
  expect(copies).toEqual(["COPY --from=build /custos /usr/local/bin/custos"]);
});

test("runs as a numeric non-root user, from files the repository has", () => {
  const users = instr("USER");
  expect(users.length).toBe(1);
  const [uid, gid] = users[0]!.slice(5).split(":").map(Number);
  expect(uid).toBeGreaterThan(0);
  expect(gid).toBeGreaterThan(0);
  // The USER comes after every RUN of the final stage.
  const last = lines.findLastIndex((l) => l.startsWith("FROM "));
  const userAt = lines.findIndex((l) => l.startsWith("USER "));
  expect(userAt).toBeGreaterThan(last);
  expect(lines.slice(userAt).some((l) => l.startsWith("RUN "))).toBe(false);
  for (const copy of instr("COPY").filter((c) => !c.includes("--from="))) {
    const parts = copy.split(/\s+/).slice(1, -1);
    for (const p of parts) expect(existsSync(join(ROOT, p)), p).toBe(true);
  }
  expect(instr("ENTRYPOINT")[0]).toBe('ENTRYPOINT ["/usr/local/bin/custos"]');
  expect(instr("EXPOSE")[0]).toBe("EXPOSE 15432 8080");
});

test("the HEALTHCHECK command exits 0 on 200 and 1 on 503 or no listener", async () => {
  const hc = instr("HEALTHCHECK")[0]!;
  const cmd = JSON.parse(hc.slice(hc.indexOf("CMD ") + 4)) as string[];
  expect(cmd).toEqual(["/usr/local/bin/custos", "healthcheck"]);
  let status = 200;
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("{}", { status }) });
  const run = async (url: string) => {
    // The image's executable is this CLI (test/deploy/binary.test.ts runs the built one).
    const proc = Bun.spawn([process.execPath, join(ROOT, "src/cli/main.ts"), ...cmd.slice(1)], {
      env: { ...process.env, CUSTOS_HEALTHZ_URL: url },
    });
    return proc.exited;
  };
  try {
    const url = `http://127.0.0.1:${server.port}/healthz`;
    expect(await run(url)).toBe(0);
    status = 503;
    expect(await run(url)).toBe(1);
  } finally {
    server.stop(true);
  }
  expect(await run(`http://127.0.0.1:${server.port}/healthz`)).toBe(1);
});
