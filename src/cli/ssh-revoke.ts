// `custos ssh revoke`: stops certificates from `custos ssh login` before they expire. It marks their records
// (data_dir/ssh-certificates, signed again with the SSH CA key) revoked; the gateway reads a certificate's
// record at every login, so a running gateway refuses them at once, and after a restart too. Recorded as an
// `ssh.certificate_revoked` audit event per certificate (ffiec-controls F1: which identity loses access,
// F7: a significant access event, with who ran the command).
import { loadConfig } from "../config/load.ts";
import { CustosError } from "../core/errors.ts";
import { loadOrCreateGatewayKey } from "../identity/gateway-key.ts";
import { loadCa } from "../protocols/ssh/cert-authority.ts";
import { type CertificateRecord, CertificateRecords } from "../protocols/ssh/cert-records.ts";
import { type CliCommand, CliError, parseFlags } from "./command.ts";
import { localOperator, recordEvents } from "./store-access.ts";

export const sshRevokeCommand: CliCommand = {
  name: "ssh revoke",
  summary: "revoke SSH certificates by serial or by subject, before they expire",
  usage: `usage: custos ssh revoke --config FILE (SERIAL | --subject S)

Marks the record of the certificate with this serial (as \`custos ssh login\` printed it, or as the
ssh.certificate_issued event names it), or of every live certificate issued to subject S, revoked. A
revoked certificate is refused at login from then on, also after a restart of the gateway. Each one is
recorded as an ssh.certificate_revoked audit event (who ran the command, serial, subject); the revocation
stands even if that event could not be written (the command then exits 1 and says so).`,
  async run(argv) {
    const { flags, positionals: positional } = parseFlags(argv, { config: "string", subject: "string" });
    if (typeof flags.config !== "string") throw new CliError("ssh revoke needs --config FILE", 2);
    const subject = typeof flags.subject === "string" ? flags.subject : null;
    const serialArg = positional[0];
    if ((subject === null) === (serialArg === undefined) || positional.length > 1)
      throw new CliError("ssh revoke needs exactly one of SERIAL or --subject S", 2);
    if (serialArg !== undefined && !/^[0-9]{1,20}$/.test(serialArg))
      throw new CliError(`SERIAL must be a certificate serial (decimal), not "${serialArg}"`, 2);
    const config = loadConfig(flags.config, process.env, { secrets: false });
    let records: CertificateRecords;
    try {
      records = new CertificateRecords(config.dataDir, loadCa(config.dataDir));
    } catch (err) {
      throw new CliError(`no SSH CA in ${config.dataDir}: ${(err as Error).message}`);
    }
    const nowSec = Math.floor(Date.now() / 1000);
    let targets: CertificateRecord[];
    if (serialArg !== undefined) {
      const found = records.get(BigInt(serialArg));
      if (found.kind === "missing") throw new CliError(`no certificate with serial ${serialArg}`);
      if (found.kind === "invalid")
        throw new CliError(`serial ${serialArg}: ${found.reason} (such a certificate is already refused)`);
      targets = [found.record];
    } else targets = records.list().filter((r) => r.identity.subject === subject && nowSec < r.validBefore);
    targets = targets.filter((r) => r.revoked === null);
    if (targets.length === 0) {
      process.stdout.write("nothing to revoke: no live, unrevoked certificate matches\n");
      return 0;
    }
    const by = localOperator();
    const at = new Date().toISOString();
    for (const r of targets) records.put({ ...r, revoked: { at, by: by.user } });
    try {
      await recordEvents(
        config,
        await loadOrCreateGatewayKey(config.dataDir),
        targets.map((r) => ({
          type: "ssh.certificate_revoked",
          time: Date.now(),
          data: {
            revoked_by: by,
            serial: r.serial.toString(),
            subject: r.identity.subject,
            key_fingerprint: r.keyFingerprint,
            connection: r.connection,
            valid_before: new Date(r.validBefore * 1000).toISOString(),
          },
        })),
      );
    } catch (err) {
      const reason = err instanceof CustosError ? err.message : String(err);
      throw new CliError(
        `revoked, but the ssh.certificate_revoked audit event could not be written (${reason})`,
      );
    }
    for (const r of targets) process.stdout.write(`revoked ${r.serial} (${r.identity.subject})\n`);
    return 0;
  },
};
