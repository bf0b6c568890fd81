// Notices that the SQLite store's write-ahead log was taken away under an open connection, so a commit is
// never reported durable while it went to a file nobody will read again.
//
// Why it can happen: SQLite's unix VFS locks with POSIX fcntl() locks, which belong to the process, and any
// close() of any descriptor of a file drops every lock the process holds on it (sqlite.org/howtocorrupt.html
// §2.2). A readFileSync() of audit.db or audit.db-shm in the process that has the store open (a test scanning
// data_dir, a backup copy made in process) silently drops the connection's persistent SHARED lock on the
// database and its dead-man-switch lock on the -shm. The next process to open the file (`custos console
// link`, `token issue`, `approve`…) then believes it is alone: it rebuilds the -shm and, when it closes,
// checkpoints and unlinks the -wal and -shm. This process keeps appending to the unlinked -wal, and every
// later connection it opens fails with SQLITE_IOERR_SHORT_READ ("disk I/O error").
//
// While this connection is open, nothing legitimate replaces its -wal (deleting it needs an EXCLUSIVE lock
// this connection's SHARED lock excludes; a TRUNCATE checkpoint keeps the file). So a -wal that is missing, or
// is another file than at open, means the commits written through this connection are lost.
import { statSync } from "node:fs";
import { CustosError } from "../core/errors.ts";

export interface WalGuard {
  /** Throws audit.unavailable when the -wal is not the file this connection opened. A stat: ~2 µs. */
  check(): void;
}

const NONE: WalGuard = { check() {} };

/** Call right after the connection is open in WAL mode (the -wal then exists). */
export function walGuard(dbPath: string): WalGuard {
  if (dbPath === "" || dbPath === ":memory:") return NONE;
  const walPath = `${dbPath}-wal`;
  const identity = () => {
    const s = statSync(walPath, { throwIfNoEntry: false });
    return s ? `${s.dev}:${s.ino}` : null;
  };
  const opened = identity();
  // No -wal after open: not WAL mode after all (a read-only medium); nothing to watch.
  if (opened === null) return NONE;
  return {
    check() {
      const now = identity();
      if (now === opened) return;
      throw new CustosError(
        "audit.unavailable",
        `the audit store's write-ahead log ${walPath} was ${now === null ? "removed" : "replaced"} under this process's open connection: its SQLite locks were dropped (a file of the store opened and closed outside SQLite in this process) and another process took the file over. Commits through this connection would be lost: restart this process`,
        { store: dbPath },
      );
    },
  };
}
