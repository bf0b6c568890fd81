// The approver's side of a held request, as end-to-end tests drive it: the pending statement requests read
// through the gateway's approvals API, and the decision made with the real CLI (`custos approve|deny`) as
// a subprocess, so a gateway in this test process is never blocked by it.
import { join } from "node:path";

const ROOT = join(import.meta.dir, "../..");

/** The statement requests pending for this approver: id and statement text. */
export async function pendingRequests(
  httpPort: number,
  approverToken: string,
): Promise<{ id: string; text: string }[]> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/api/approvals?status=pending&kind=statement`, {
    headers: { authorization: `Bearer ${approverToken}` },
  });
  const json = (await res.json()) as { requests?: { id: string; statement?: { text?: string } }[] };
  return (json.requests ?? []).map((r) => ({ id: r.id, text: r.statement?.text ?? "" }));
}

/** Waits until a statement request with this text is pending; its id. */
export async function pendingRequestId(
  httpPort: number,
  approverToken: string,
  text: string,
  timeoutMs = 30_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await pendingRequests(httpPort, approverToken)).find((r) => r.text === text);
    if (found) return found.id;
    if (Date.now() > deadline) throw new Error(`no pending request for ${text}`);
    await Bun.sleep(200);
  }
}

/**
 * `custos approve|deny <id> --reason … --token … --gateway …`, run as the real CLI. Throws unless it
 * exits 0, writes nothing to stderr and names the request on stdout.
 */
export async function decideWithCli(
  httpPort: number,
  verb: "approve" | "deny",
  id: string,
  approverToken: string,
  reason: string,
): Promise<void> {
  const argv = [verb, id, "--reason", reason, "--token", approverToken];
  const proc = Bun.spawn(
    [process.execPath, join(ROOT, "src/cli/main.ts"), ...argv, "--gateway", `http://127.0.0.1:${httpPort}`],
    { cwd: ROOT, stdout: "pipe", stderr: "pipe", env: { ...process.env, CUSTOS_TOKEN: "" } },
  );
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0 || stderr !== "" || !stdout.includes(id))
    throw new Error(`custos ${verb} ${id} failed (exit ${code}): ${stderr || stdout}`);
}
