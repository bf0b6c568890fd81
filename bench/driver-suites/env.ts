// Starts what a driver's own test suite runs against, twice over: a real PostgreSQL (TLS on) and the test
// gateway in front of it with a human identity the shipped policy lets do anything. Writes both targets as
// JSON to the path given, then stays up until SIGTERM/SIGINT. Used by bench/driver-suites/run.
import { writeFileSync } from "node:fs";
import { startTestGateway } from "../../test/support/gateway.ts";
import { startOidcIssuer } from "../../test/support/oidc-issuer.ts";
import { startPostgres } from "../../test/support/postgres.ts";

const outPath = process.argv[2];
if (!outPath) throw new Error("usage: bun bench/driver-suites/env.ts OUT.json");
const [db, issuer] = await Promise.all([
  startPostgres({ ssl: true, settings: { max_prepared_transactions: "10" } }),
  startOidcIssuer(),
]);
const gw = await startTestGateway({ pg: db, issuer, config: { log: { level: "warn" } } });
// A suite outlives the five-minute default token: one token valid for the run (the gateway caps lifetimes).
const token = await issuer.mint(
  { iss: issuer.issuer, sub: "driver-suite@bank.example", aud: "custos", groups: ["dba"] },
  { expiresIn: "4h" },
);
const targets = {
  direct: {
    host: db.host,
    port: db.port,
    user: db.roles.scram.user,
    password: db.roles.scram.password,
    database: db.database,
  },
  gateway: { host: "127.0.0.1", port: gw.port, user: "driver-suite", password: token, database: "ledger" },
};
writeFileSync(outPath, JSON.stringify(targets));
console.error(`driver-suites: postgres ${db.port}, gateway ${gw.port}; targets in ${outPath}`);
const stop = async () => {
  await gw.stop();
  await Promise.all([db.stop(), issuer.stop()]);
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
await new Promise(() => {});
