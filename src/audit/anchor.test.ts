import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AnchorPublisher, type CheckpointAnchor } from "./anchor.ts";
import { fileAnchor } from "./anchors/file.ts";
import { httpAnchor } from "./anchors/http.ts";
import { localHeadAnchor, localHeadPath } from "./anchors/local-head.ts";
import { generateSignerKeys, importSigner, signCheckpoint } from "./checkpoint.ts";
import { parseSignedNotes, publicKeyFile } from "./trust.ts";

const keys = await generateSignerKeys();
const signer = await importSigner(keys);
const dir = mkdtempSync(join(tmpdir(), "custos-anchor-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cp = (size: number) => signCheckpoint(signer, "gw-a", size, new Uint8Array(32).fill(size), size * 10);

async function settle(_p: AnchorPublisher, cond: () => boolean) {
  for (let i = 0; i < 100 && !cond(); i++) await Bun.sleep(20);
}

test("the file anchor writes the key once and appends every checkpoint; the data_dir head keeps the newest", async () => {
  const path = join(dir, "worm");
  const p = new AnchorPublisher([fileAnchor("worm", path), localHeadAnchor(join(dir, "data"))]);
  for (const n of [1, 2, 3]) p.publish(await cp(n), keys.publicKeyRaw);
  await settle(p, () => p.statuses().every((s) => s.published === 3));
  await p.close();
  expect(readFileSync(join(path, "gw-a.pub"), "utf8")).toBe(publicKeyFile(keys.publicKeyRaw, "gw-a"));
  const notes = await parseSignedNotes(readFileSync(join(path, "gw-a.checkpoints"), "utf8"), [
    keys.publicKeyRaw,
  ]);
  expect(notes.map((n) => n.checkpoint.size)).toEqual([1, 2, 3]);
  const head = await parseSignedNotes(readFileSync(localHeadPath(join(dir, "data"), "gw-a"), "utf8"), [
    keys.publicKeyRaw,
  ]);
  expect(head.map((n) => n.checkpoint.size)).toEqual([3]);
});

test("a file anchor holding another key is never overwritten: publishing fails and is reported", async () => {
  const path = join(dir, "other");
  const p0 = new AnchorPublisher([fileAnchor("w", path)]);
  p0.publish(await cp(1), (await generateSignerKeys()).publicKeyRaw);
  await settle(p0, () => p0.statuses()[0]!.published === 1);
  await p0.close();
  const before = readFileSync(join(path, "gw-a.pub"), "utf8");
  const p = new AnchorPublisher([fileAnchor("w", path)]);
  p.publish(await cp(2), keys.publicKeyRaw);
  await settle(p, () => p.statuses()[0]!.failures > 0);
  expect(p.problems()[0]).toContain("holds another key");
  await p.close(0);
  expect(readFileSync(join(path, "gw-a.pub"), "utf8")).toBe(before);
});

test("the HTTP anchor sends a bearer token; a refusal is retried until it is accepted, in order", async () => {
  const got: { auth: string | null; size: number }[] = [];
  let refuse = 2;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const body = (await req.json()) as { size: number };
      if (refuse-- > 0) return new Response("busy", { status: 503 });
      got.push({ auth: req.headers.get("authorization"), size: body.size });
      return new Response(null, { status: 204 });
    },
  });
  try {
    const p = new AnchorPublisher([
      httpAnchor({ name: "w", url: `http://127.0.0.1:${server.port}/`, secret: "tok", auth: "bearer" }),
    ]);
    p.publish(await cp(1), keys.publicKeyRaw);
    p.publish(await cp(2), keys.publicKeyRaw);
    await settle(p, () => got.length === 2);
    for (let i = 0; i < 100 && got.length < 2; i++) await Bun.sleep(50);
    expect(got).toEqual([
      { auth: "Bearer tok", size: 1 },
      { auth: "Bearer tok", size: 2 },
    ]);
    expect(p.statuses()[0]!.failures).toBe(2);
    expect(p.problems()).toEqual([]);
    await p.close();
  } finally {
    server.stop(true);
  }
});

test("a failing anchor holds no other, and publish never throws", async () => {
  const broken: CheckpointAnchor = { name: "broken", publish: () => Promise.reject(new Error("disk gone")) };
  const path = join(dir, "fine");
  const p = new AnchorPublisher([broken, fileAnchor("fine", path)]);
  p.publish(await cp(1), keys.publicKeyRaw);
  await settle(p, () => existsSync(join(path, "gw-a.checkpoints")));
  expect(p.statuses().map((s) => [s.name, s.published, s.failures > 0])).toEqual([
    ["broken", 0, true],
    ["fine", 1, false],
  ]);
  await p.close(0);
});
