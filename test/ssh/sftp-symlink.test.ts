// SFTP through symlinks: a local rule puts one directory off limits, and links inside an allowed directory
// point into it. Each attack is judged on the target's files (read directly) and in the bytes the client
// downloaded; look-alikes (plain files, removing a link itself, a link that stays inside) still work.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleWithLocalRules } from "../support/policy-bundle.ts";
import { withEvents } from "./audit.ts";
import { type SshFixture, startSshFixture, viaGateway } from "./support.ts";

let f: SshFixture;
let human: string;
let root: string;
let open: string;
let secret: string;
let local: string;
const SECRET = "secret-value-5b1e";
const CANARY = "canary: untouched\n";

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "custos-sftp-links-"));
  open = join(root, "open");
  secret = join(root, "secret");
  local = join(root, "local");
  for (const d of [open, secret, local]) mkdirSync(d);
  const rules = `package custos.local

deny contains {"rule": "bank.secret_dir", "reason": "the secret directory is off limits"} if {
\tinput.command.channel == "sftp"
\tsome p in [input.command.path, object.get(input.command, "target", "")]
\tstartswith(p, "${secret}")
}
`;
  f = await startSshFixture({ policyBundle: await bundleWithLocalRules(rules) });
  human = await f.token("dana@bank.example", ["sre"]);
}, 60_000);

afterAll(async () => {
  await f?.stop();
});

function reset() {
  writeFileSync(join(secret, "data.txt"), `${SECRET}\n`, { mode: 0o644 });
  writeFileSync(join(secret, "canary.txt"), CANARY);
  writeFileSync(join(open, "plain.txt"), "plain\n");
  writeFileSync(join(local, "upload.txt"), "uploaded\n");
  for (const [name, to] of [
    ["link-dir", "../secret"],
    ["link-file", "../secret/data.txt"],
    ["abs-dir", secret],
    ["dangling", "../secret/new.txt"],
    ["inside", "plain.txt"],
  ] as const)
    if (!lstatSync(join(open, name), { throwIfNoEntry: false })) symlinkSync(to, join(open, name));
}

async function batch(lines: string[]) {
  const file = join(root, `batch-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, `${lines.join("\n")}\n`);
  return viaGateway(f, human, "sftp", ["-b", file, ":"], { timeoutMs: 30_000 });
}

const localBytes = () =>
  ["got", "got2", "got3"]
    .map((n) => (existsSync(join(local, n)) ? readFileSync(join(local, n), "utf8") : ""))
    .join("");

describe("sftp through symlinks", () => {
  test("links into the off-limits directory carry no operation there", async () => {
    const attacks: Record<string, string[]> = {
      "get through a file link": [`get ${open}/link-file ${local}/got`],
      "get through a directory link": [`get ${open}/link-dir/data.txt ${local}/got2`],
      "get through an absolute link": [`get ${open}/abs-dir/data.txt ${local}/got3`],
      "put through a directory link": [`put ${local}/upload.txt ${open}/link-dir/evil.txt`],
      "put onto a dangling link": [`put ${local}/upload.txt ${open}/dangling`],
      "rm through a directory link": [`rm ${open}/link-dir/canary.txt`],
      "rename out through a directory link": [`rename ${open}/link-dir/canary.txt ${open}/moved.txt`],
      "chmod through a file link": [`chmod 777 ${open}/link-file`],
    };
    for (const [name, lines] of Object.entries(attacks)) {
      reset();
      const r = await batch(lines);
      const effect = {
        name,
        clientSawSecret: r.all.includes(SECRET) || localBytes().includes(SECRET),
        canary: readFileSync(join(secret, "canary.txt"), "utf8") === CANARY,
        evil: existsSync(join(secret, "evil.txt")) || existsSync(join(secret, "new.txt")),
        moved: existsSync(join(open, "moved.txt")),
        mode: statSync(join(secret, "data.txt")).mode & 0o777,
      };
      expect(effect).toEqual({
        name,
        clientSawSecret: false,
        canary: true,
        evil: false,
        moved: false,
        mode: 0o644,
      });
      expect({ name, code: r.code }).not.toEqual({ name, code: 0 });
    }
    await withEvents(f, (events) => {
      const denied = events.filter(
        (e) => e.type === "statement" && JSON.stringify(e.data).includes("bank.secret_dir"),
      );
      // Decided on the resolved path: the secret directory's, never the link's.
      expect(denied.length).toBeGreaterThanOrEqual(6);
      for (const e of denied) expect(String((e.data as { text?: unknown }).text)).toContain(secret);
    });
  }, 120_000);

  test("look-alikes: plain files, a link inside, removing a link itself", async () => {
    reset();
    const r = await batch([
      `get ${open}/plain.txt ${local}/plain-copy`,
      `get ${open}/inside ${local}/inside-copy`,
      `put ${local}/upload.txt ${open}/new.txt`,
      `rm ${open}/link-file`,
      `ls ${open}`,
    ]);
    expect(r.code).toBe(0);
    expect(readFileSync(join(local, "plain-copy"), "utf8")).toBe("plain\n");
    expect(readFileSync(join(local, "inside-copy"), "utf8")).toBe("plain\n");
    expect(readFileSync(join(open, "new.txt"), "utf8")).toBe("uploaded\n");
    // The link is gone; what it pointed at is not.
    expect(existsSync(join(open, "link-file"))).toBe(false);
    expect(readFileSync(join(secret, "data.txt"), "utf8")).toBe(`${SECRET}\n`);
  }, 60_000);
});
