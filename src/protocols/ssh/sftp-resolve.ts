// SFTP paths resolved on the target before they are decided: a symlink inside an allowed directory must not
// carry an operation to a path the policy never saw. The gateway asks the target itself (REALPATH, and
// LSTAT for a path that does not resolve; filexfer-02 §6.8, §6.10) on ids of its own, decides the resolved
// absolute path and forwards that. Operations that act on a link itself (lstat, remove, rename, readlink,
// mkdir, rmdir, posix-rename, hardlink, lsetstat) resolve only the parent directory. A path whose final
// component is a dangling symlink is refused: where an open would create the file is not known. What
// stays: another process can swap a directory for a symlink between the decision and the operation (the
// resolved path narrows, but does not close, that race); SYMLINK's two paths and expand-path@openssh.com's
// `~` path are decided as given.
import { posix } from "node:path";
import { attrsPermissions, FX, FXP, packetId, packetType, pathRequest, Reader } from "./sftp-codec.ts";

/** S_IFMT / S_IFLNK (POSIX <sys/stat.h>), as SFTP v3 carries them in permissions. */
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
/** Ids the gateway's own requests use; a client's pending ids are skipped. */
const FIRST_ID = 0x8000_0000;

export type Resolved = { ok: true; path: string } | { ok: false; code: number; message: string };

export class TargetPaths {
  private nextId = FIRST_ID;
  private readonly waiting = new Map<number, (reply: Uint8Array | null) => void>();

  constructor(
    private readonly send: (packet: Uint8Array) => void,
    private readonly clientPending: (id: number) => boolean,
  ) {}

  /** True when the reply answered one of the gateway's own requests (and is not the client's). */
  takeReply(p: Uint8Array): boolean {
    if (packetType(p) === FXP.VERSION) return false;
    const id = packetId(p);
    const done = this.waiting.get(id);
    if (!done) return false;
    this.waiting.delete(id);
    done(p);
    return true;
  }

  /** Every request the target will never answer now (the channel closed). */
  abandon(): void {
    for (const done of this.waiting.values()) done(null);
    this.waiting.clear();
  }

  /** `follow`: the operation follows a symlink in the final component (open, stat, setstat, opendir). */
  async resolve(path: string, follow: boolean): Promise<Resolved> {
    const base = posix.basename(path);
    if (follow || base === "" || base === "." || path === "/") {
      const full = await this.realpath(path);
      if (full !== null) return { ok: true, path: full };
      if (base === "" || base === "." || path === "/")
        return { ok: false, code: FX.NO_SUCH_FILE, message: "custos: the path does not resolve" };
      if ((await this.lstatKind(path)) === "link")
        return {
          ok: false,
          code: FX.PERMISSION_DENIED,
          message: "custos: a dangling symlink is not followed",
        };
    }
    const parent = await this.realpath(posix.dirname(path));
    if (parent === null)
      return { ok: false, code: FX.NO_SUCH_FILE, message: "custos: the directory does not resolve" };
    return { ok: true, path: posix.join(parent, base) };
  }

  private async realpath(path: string): Promise<string | null> {
    const reply = await this.ask(FXP.REALPATH, path);
    if (!reply || packetType(reply) !== FXP.NAME) return null;
    const r = new Reader(reply);
    r.u32();
    if (r.u32() !== 1) return null;
    const resolved = r.string();
    return resolved.startsWith("/") && !resolved.includes("\u0000") ? posix.normalize(resolved) : null;
  }

  private async lstatKind(path: string): Promise<"link" | "other" | "missing"> {
    const reply = await this.ask(FXP.LSTAT, path);
    if (!reply) return "other";
    if (packetType(reply) === FXP.STATUS) {
      const r = new Reader(reply);
      r.u32();
      return r.u32() === FX.NO_SUCH_FILE ? "missing" : "other";
    }
    if (packetType(reply) !== FXP.ATTRS) return "other";
    const r = new Reader(reply);
    r.u32();
    const perms = attrsPermissions(r);
    // Unknown type: treated as a link (refused), never as a plain missing file.
    return perms === null || (perms & S_IFMT) === S_IFLNK ? "link" : "other";
  }

  private ask(type: number, path: string): Promise<Uint8Array | null> {
    let id = this.nextId;
    while (this.clientPending(id) || this.waiting.has(id)) id = id >= 0xffff_ffff ? FIRST_ID : id + 1;
    this.nextId = id >= 0xffff_ffff ? FIRST_ID : id + 1;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.send(pathRequest(type, id, path));
    });
  }
}
