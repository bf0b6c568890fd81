// Another SQLite process (an operator's CLI) opens a store file, runs one statement and closes. After this
// process dropped its own locks on the file (src/audit/sqlite-wal-guard.ts says how), that close checkpoints
// and unlinks the -wal this process still writes to: the takeover the stores must notice.
export async function otherProcessWrites(
  path: string,
  statement: string,
): Promise<{ code: number; stderr: string }> {
  const proc = Bun.spawn(
    [
      process.execPath,
      "-e",
      `const { Database } = require("bun:sqlite");
       const db = new Database(process.argv[1]);
       db.exec("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000");
       db.run(process.argv[2]);
       db.close();`,
      path,
      statement,
    ],
    { stdout: "ignore", stderr: "pipe" },
  );
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  return { code, stderr };
}
