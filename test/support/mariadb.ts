// A real MariaDB server for tests (HARNESS.md): its own datadir, socket and port on loopback, TLS with a
// throwaway certificate, started as the test's child and stopped by PID. The fixture: a `loans` database
// with regulated columns and canary rows an attack must not change, and the account the gateway logs in as.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.ts";

export interface MariaDbServer {
  host: string;
  port: number;
  socket: string;
  database: string;
  /** The account the gateway uses (mysql_native_password). */
  user: string;
  password: string;
  /** Runs SQL as root over the socket (direct, never through the gateway); returns tab-separated rows. */
  sql(text: string): Promise<string>;
  stop(): Promise<void>;
}

/** Fixture values: each must never reach an agent raw. */
export const FIXTURE = {
  ssns: ["078-05-1120", "219-09-9999", "457-55-5462"],
  cards: ["4111111111111111", "5500005555555559"],
  emails: ["ada@example.org", "grace@example.org"],
};

export function haveMariaDb(): boolean {
  return Bun.which("mariadbd") !== null || Bun.which("mariadbd", { PATH: "/usr/sbin:/usr/bin" }) !== null;
}

const bin = (name: string) =>
  Bun.which(name, { PATH: `/usr/sbin:/usr/bin:${process.env.PATH ?? ""}` }) ?? name;

async function run(cmd: string[], input?: string): Promise<{ out: string; err: string; code: number }> {
  const proc = Bun.spawn(cmd, {
    stdin: input === undefined ? "ignore" : Buffer.from(input),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { out, err, code };
}

export async function startMariaDb(): Promise<MariaDbServer> {
  const dir = mkdtempSync(join(tmpdir(), "custos-mariadb-"));
  const port = await freePort();
  const socket = join(dir, "mysqld.sock");
  const tls = await run([
    "openssl",
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=127.0.0.1",
    "-keyout",
    join(dir, "key.pem"),
    "-out",
    join(dir, "cert.pem"),
  ]);
  if (tls.code !== 0) throw new Error(`openssl: ${tls.err}`);
  const cnf = join(dir, "my.cnf");
  writeFileSync(
    cnf,
    [
      "[mariadbd]",
      `datadir=${join(dir, "data")}`,
      `socket=${socket}`,
      `port=${port}`,
      "bind-address=127.0.0.1",
      "user=root",
      `pid-file=${join(dir, "mysqld.pid")}`,
      `log-error=${join(dir, "error.log")}`,
      `ssl-cert=${join(dir, "cert.pem")}`,
      `ssl-key=${join(dir, "key.pem")}`,
      "skip-name-resolve",
      "innodb_buffer_pool_size=16M",
      "innodb_log_file_size=8M",
      "performance_schema=OFF",
      "character-set-server=utf8mb4",
      "",
    ].join("\n"),
  );
  const init = await run([
    bin("mariadb-install-db"),
    `--defaults-file=${cnf}`,
    "--auth-root-authentication-method=normal",
    "--skip-test-db",
  ]);
  if (init.code !== 0) throw new Error(`mariadb-install-db: ${init.err}`);
  const proc = Bun.spawn([bin("mariadbd"), `--defaults-file=${cnf}`], { stdout: "ignore", stderr: "ignore" });
  const sql = async (text: string) => {
    const r = await run([bin("mariadb"), `--socket=${socket}`, "-uroot", "-N", "-B", "loans"], text);
    if (r.code !== 0) throw new Error(`mariadb: ${r.err}`);
    return r.out;
  };
  for (let i = 0; ; i++) {
    const ping = await run([bin("mariadb-admin"), `--socket=${socket}`, "-uroot", "ping"]);
    if (ping.code === 0) break;
    if (i > 100) throw new Error("mariadbd did not start");
    await Bun.sleep(100);
  }
  const password = "gw-pass-7d1c";
  const setup = await run(
    [bin("mariadb"), `--socket=${socket}`, "-uroot"],
    `
    CREATE DATABASE loans CHARACTER SET utf8mb4;
    CREATE USER 'custos'@'127.0.0.1' IDENTIFIED VIA mysql_native_password USING PASSWORD('${password}');
    GRANT ALL ON loans.* TO 'custos'@'127.0.0.1';
    GRANT PROCESS, FILE ON *.* TO 'custos'@'127.0.0.1';
    USE loans;
    CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(80), ssn VARCHAR(11), email VARCHAR(80), card_number VARCHAR(19), memo TEXT, tin BIGINT);
    INSERT INTO customers VALUES
      (1, 'Ada', '${FIXTURE.ssns[0]}', '${FIXTURE.emails[0]}', '${FIXTURE.cards[0]}', 'call back re ${FIXTURE.ssns[1]}', 457555462),
      (2, 'Grace', '${FIXTURE.ssns[2]}', '${FIXTURE.emails[1]}', '${FIXTURE.cards[1]}', 'no notes', 219099999);
    CREATE TABLE canary (id INT PRIMARY KEY, v VARCHAR(20));
    INSERT INTO canary VALUES (1, 'intact');
    CREATE TABLE loans (id INT PRIMARY KEY, customer_id INT, amount DECIMAL(12,2));
    INSERT INTO loans VALUES (10, 1, 2500.00), (11, 2, 990.50);
    CREATE VIEW customer_view AS SELECT id, ssn AS tin_text FROM customers;
  `,
  );
  if (setup.code !== 0) throw new Error(`fixture: ${setup.err}`);
  return {
    host: "127.0.0.1",
    port,
    socket,
    database: "loans",
    user: "custos",
    password,
    sql,
    async stop() {
      proc.kill();
      await proc.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
