// Relays an sftp subsystem channel packet by packet (sftp-codec.ts). Each operation that names a path
// (open for read or write, remove, rename, mkdir, rmdir, setstat, symlink, hardlink, listing, stat,
// realpath, readlink) is decided on its path as the target resolves it (sftp-resolve.ts: symlinks
// followed where the operation follows them), and that resolved path is what the target gets.
// Handle operations (read, write, close, fstat, fsetstat, readdir, fsync) must name a handle the target
// returned for a decided open; an unknown handle or packet type is answered locally and never forwarded.
// Each transfer is recorded at close with its name, size and SHA-256 (and its first bytes of content).
// Masked identities may not read file content (bytes a masker cannot read): such opens are refused.
import { createHash, type Hash } from "node:crypto";
import { posix } from "node:path";
import type { ClientChannel, ServerChannel } from "ssh2";
import { nowMicros } from "../../core/clock.ts";
import { deny } from "../../core/decision.ts";
import type { GatewaySession, SessionStats } from "../../core/session.ts";
import { type SftpOp, sftpCommand } from "./command.ts";
import { gate } from "./relay.ts";
import {
  FX,
  FXP,
  PacketFramer,
  PFLAG,
  packetId,
  packetType,
  Reader,
  statusPacket,
  withPaths,
} from "./sftp-codec.ts";
import { TargetPaths } from "./sftp-resolve.ts";
import { refusalText } from "./wire-error.ts";

export interface SftpOptions {
  session: GatewaySession;
  stats: SessionStats;
  activity(): void;
  /** The subsystem's decision masks output: file content may not be read. */
  masked: boolean;
  recordContent: number;
}

interface Transfer {
  path: string;
  direction: "get" | "put" | "list";
  size: number;
  /** Next offset a sequential transfer continues at; hashing stops when the offsets jump. */
  next: number;
  hash: Hash | null;
  content: Uint8Array[];
  contentBytes: number;
}

type Pending =
  | { kind: "open"; transfer: Transfer }
  | { kind: "read"; handle: string; offset: number }
  | { kind: "other" };

/** Extensions relayed: name → the operation decided (null: no path, nothing to decide). */
const EXTENSIONS = new Map<string, SftpOp | "handle" | null>([
  ["posix-rename@openssh.com", "rename"],
  ["hardlink@openssh.com", "hardlink"],
  ["statvfs@openssh.com", "stat"],
  ["fstatvfs@openssh.com", "handle"],
  ["fsync@openssh.com", "handle"],
  ["lsetstat@openssh.com", "setstat"],
  ["expand-path@openssh.com", "stat"],
  ["limits@openssh.com", null],
]);

/** Requests that follow a symlink in the final component (the others act on the link itself). */
const FOLLOWS = new Set<number>([FXP.OPEN, FXP.STAT, FXP.SETSTAT, FXP.OPENDIR, FXP.REALPATH]);

/** Path-naming requests: how many path fields, and the operation (OPEN's depends on its flags). */
const PATH_OPS = new Map<number, { paths: number; op: SftpOp }>([
  [FXP.OPEN, { paths: 1, op: "open_read" }],
  [FXP.LSTAT, { paths: 1, op: "stat" }],
  [FXP.STAT, { paths: 1, op: "stat" }],
  [FXP.SETSTAT, { paths: 1, op: "setstat" }],
  [FXP.OPENDIR, { paths: 1, op: "list" }],
  [FXP.REMOVE, { paths: 1, op: "remove" }],
  [FXP.MKDIR, { paths: 1, op: "mkdir" }],
  [FXP.RMDIR, { paths: 1, op: "rmdir" }],
  [FXP.REALPATH, { paths: 1, op: "stat" }],
  [FXP.READLINK, { paths: 1, op: "readlink" }],
  [FXP.RENAME, { paths: 2, op: "rename" }],
  [FXP.SYMLINK, { paths: 2, op: "symlink" }],
]);

const HANDLE_OPS = new Set<number>([FXP.CLOSE, FXP.READ, FXP.WRITE, FXP.FSTAT, FXP.FSETSTAT, FXP.READDIR]);

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

export function relaySftp(
  client: ServerChannel,
  up: ClientChannel,
  o: SftpOptions,
): Promise<{
  code: number | null;
  signal: string | null;
  bytesOut: number;
  bytesErr: number;
  bytesIn: number;
  error: string | null;
}> {
  const result = {
    code: null as number | null,
    signal: null as string | null,
    bytesOut: 0,
    bytesErr: 0,
    bytesIn: 0,
    error: null as string | null,
  };
  const { session, stats } = o;
  const handles = new Map<string, Transfer>();
  const pending = new Map<number, Pending>();
  const fromClient = new PacketFramer();
  const fromServer = new PacketFramer();
  let queue: Promise<void> = Promise.resolve();
  let queued = 0;
  const clientGate = gate(client);
  const upGate = gate(up);

  const toClient = (p: Uint8Array) => {
    stats.bytesToClient += p.length;
    if (!client.write(p)) {
      upGate.hold();
      client.once("drain", upGate.release);
    }
  };
  const toServer = (p: Uint8Array) => {
    if (!up.write(p)) {
      clientGate.hold();
      up.once("drain", clientGate.release);
    }
  };
  const answer = (id: number, code: number, message: string) => toClient(statusPacket(id, code, message));
  const targetPaths = new TargetPaths(toServer, (id) => pending.has(id));

  const recordTransfer = (t: Transfer) => {
    if (t.direction === "list") return;
    session.record({
      t: nowMicros(),
      dir: t.direction === "put" ? "client" : "server",
      kind: "sftp.transfer",
      data: {
        path: t.path,
        direction: t.direction,
        size: t.size,
        sha256: t.hash ? t.hash.digest("hex") : null,
        ...(t.hash ? {} : { note: "offsets were not sequential: no digest" }),
        content: Buffer.concat(t.content),
      },
    });
  };
  const feed = (t: Transfer, offset: number, data: Uint8Array) => {
    t.size = Math.max(t.size, offset + data.length);
    if (t.hash && offset === t.next) {
      t.hash.update(data);
      t.next += data.length;
      if (t.contentBytes < o.recordContent) {
        const part = data.subarray(0, o.recordContent - t.contentBytes);
        t.content.push(part.slice());
        t.contentBytes += part.length;
      }
    } else if (t.hash) t.hash = null;
  };

  /** Decides one path operation; resolves with whether to forward. Refusals are answered here. */
  const decide = async (id: number, op: SftpOp, paths: string[], requested?: string): Promise<boolean> => {
    const command = sftpCommand(op, paths[0]!, paths[1]);
    const started = nowMicros();
    let decision = session.recordable()
      ? await session.decide(command)
      : deny("audit store unavailable: operations are refused", "custos.audit_unavailable");
    session.record({
      t: started,
      dir: "client",
      kind: "sftp.op",
      data: {
        op,
        path: paths[0],
        target: paths[1] ?? null,
        ...(requested !== undefined && requested !== paths[0] ? { requested } : {}),
      },
    });
    if (decision.action === "review") {
      decision = await session.review(command, decision, {}, (n) => {
        client.stderr.write(`custos: ${n.message}\r\ncustos: request ${n.requestId}. ${n.hint}\r\n`);
      });
    }
    if (decision.action === "allow" && o.masked && op === "open_read")
      decision = deny(
        "file content cannot be masked: masked identities may not read files",
        "custos.ssh_masked_transfer",
      );
    if (decision.action !== "allow") {
      answer(id, FX.PERMISSION_DENIED, refusalText(decision).replace(/\r\n$/, ""));
      session.completed(command, decision, {
        tag: null,
        rows: 0,
        durationUs: nowMicros() - started,
        error: { code: "policy.denied", message: decision.reason },
      });
      return false;
    }
    if (decision.record === "sync") await session.durable();
    session.completed(command, decision, { tag: op, rows: 0, durationUs: nowMicros() - started });
    return true;
  };

  const handleRequest = async (p: Uint8Array): Promise<void> => {
    const type = packetType(p);
    if (type === FXP.INIT) return toServer(p);
    const id = packetId(p);
    const r = new Reader(p);
    r.u32();
    const shape = PATH_OPS.get(type);
    if (shape) {
      const lexical = Array.from({ length: shape.paths }, () => normalise(r.string()));
      let op = shape.op;
      // A symlink's own target is text it stores, not a path it acts on: both stay lexical.
      const paths: string[] = [];
      for (const path of type === FXP.SYMLINK ? [] : lexical) {
        const resolved = await targetPaths.resolve(path, FOLLOWS.has(type));
        if (!resolved.ok) return answer(id, resolved.code, resolved.message);
        paths.push(resolved.path);
      }
      if (type === FXP.SYMLINK) paths.push(...lexical);
      let transfer: Transfer | null = null;
      if (type === FXP.OPEN) {
        const flags = r.u32();
        const writes = (flags & (PFLAG.WRITE | PFLAG.APPEND | PFLAG.CREAT | PFLAG.TRUNC)) !== 0;
        op = writes ? "open_write" : "open_read";
        transfer = {
          path: paths[0]!,
          direction: writes ? "put" : "get",
          size: 0,
          next: 0,
          hash: createHash("sha256"),
          content: [],
          contentBytes: 0,
        };
      } else if (type === FXP.OPENDIR) {
        transfer = {
          path: paths[0]!,
          direction: "list",
          size: 0,
          next: 0,
          hash: null,
          content: [],
          contentBytes: 0,
        };
      }
      if (!(await decide(id, op, paths, lexical[0]))) return;
      pending.set(id, transfer ? { kind: "open", transfer } : { kind: "other" });
      return toServer(withPaths(p, paths));
    }
    if (HANDLE_OPS.has(type)) {
      const handle = hex(r.bytes());
      const t = handles.get(handle);
      if (!t) return answer(id, FX.FAILURE, "custos: unknown handle");
      if (type === FXP.WRITE) {
        if (t.direction !== "put")
          return answer(id, FX.PERMISSION_DENIED, "custos: the handle was not opened for writing");
        const offset = r.u64();
        feed(t, offset, r.bytes());
      } else if (type === FXP.READ) {
        if (t.direction !== "get")
          return answer(id, FX.PERMISSION_DENIED, "custos: the handle was not opened for reading");
        pending.set(id, { kind: "read", handle, offset: r.u64() });
      } else if (type === FXP.FSETSTAT) {
        if (!(await decide(id, "setstat", [t.path]))) return;
      } else if (type === FXP.CLOSE) {
        handles.delete(handle);
        recordTransfer(t);
      }
      if (!pending.has(id)) pending.set(id, { kind: "other" });
      return toServer(p);
    }
    if (type === FXP.EXTENDED) {
      const name = r.string();
      const what = EXTENSIONS.get(name);
      if (what === undefined)
        return answer(id, FX.OP_UNSUPPORTED, `custos: extension ${name} is not relayed`);
      if (what === "handle") {
        if (!handles.has(hex(r.bytes()))) return answer(id, FX.FAILURE, "custos: unknown handle");
      } else if (what !== null) {
        const count = what === "rename" || what === "hardlink" ? 2 : 1;
        const lexical = Array.from({ length: count }, () => normalise(r.string()));
        // expand-path@openssh.com names `~` paths the target expands itself: decided as given.
        const paths: string[] = [];
        for (const path of name === "expand-path@openssh.com" ? [] : lexical) {
          const resolved = await targetPaths.resolve(path, name === "statvfs@openssh.com");
          if (!resolved.ok) return answer(id, resolved.code, resolved.message);
          paths.push(resolved.path);
        }
        if (name === "expand-path@openssh.com") paths.push(...lexical);
        if (!(await decide(id, what, paths, lexical[0]))) return;
        pending.set(id, { kind: "other" });
        return toServer(withPaths(p, paths, name));
      }
      pending.set(id, { kind: "other" });
      return toServer(p);
    }
    answer(id, FX.OP_UNSUPPORTED, `custos: SFTP packet type ${type} is not relayed`);
  };

  const handleReply = (p: Uint8Array) => {
    if (targetPaths.takeReply(p)) return;
    const type = packetType(p);
    if (type !== FXP.VERSION) {
      const id = packetId(p);
      const req = pending.get(id);
      pending.delete(id);
      if (req?.kind === "open" && type === FXP.HANDLE) {
        const r = new Reader(p);
        r.u32();
        handles.set(hex(r.bytes()), req.transfer);
      } else if (req?.kind === "read" && type === FXP.DATA) {
        const t = handles.get(req.handle);
        const r = new Reader(p);
        r.u32();
        if (t) feed(t, req.offset, r.bytes());
      }
    }
    toClient(p);
  };

  return new Promise((resolve) => {
    const fail = (why: string) => {
      result.error = why;
      up.close();
      client.close();
    };
    client.on("data", (d: Buffer) => {
      o.activity();
      result.bytesIn += d.length;
      stats.bytesFromClient += d.length;
      let packets: Uint8Array[];
      try {
        packets = fromClient.push(d);
      } catch (err) {
        return fail(String(err));
      }
      for (const p of packets) {
        // Decisions may wait (a review): packets stay in order, and reading pauses while many queue.
        if (queued++ === 64) clientGate.hold();
        queue = queue
          .then(() => handleRequest(p))
          .catch((err) => fail(`malformed SFTP request: ${err instanceof Error ? err.message : err}`))
          .finally(() => {
            if (--queued === 64) clientGate.release();
          });
      }
      const wait = session.recordingBacklog();
      if (wait) {
        clientGate.hold();
        wait.then(clientGate.release, clientGate.release);
      }
    });
    up.on("data", (d: Buffer) => {
      o.activity();
      result.bytesOut += d.length;
      let packets: Uint8Array[];
      try {
        packets = fromServer.push(d);
      } catch (err) {
        return fail(String(err));
      }
      for (const p of packets) handleReply(p);
    });
    client.on("end", () => {
      void queue.then(() => up.end());
    });
    up.on("exit", (code: number | null) => {
      if (typeof code === "number") result.code = code;
    });
    up.on("close", () => {
      targetPaths.abandon();
      for (const t of handles.values()) recordTransfer(t);
      handles.clear();
      if (result.code !== null) client.exit(result.code);
      client.end();
      resolve(result);
    });
    client.on("close", () => up.close());
  });
}

/** The path the gateway decides and forwards: `.` and `..` resolved lexically, duplicate slashes gone. */
function normalise(path: string): string {
  if (path.includes("\u0000")) throw new Error("a path holds a NUL byte");
  if (path === "") return ".";
  const n = posix.normalize(path);
  return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
}
