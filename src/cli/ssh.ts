// `custos ssh ca` and `custos ssh login`: the gateway's SSH public keys for known_hosts, and a short-lived
// OpenSSH user certificate for the caller. The key pair is made here and its private half never leaves this
// machine: the gateway sees the public key and the token (checked there, as for every session), and signs.
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { generateEd25519 } from "../protocols/ssh/keygen.ts";
import { gatewayBase, gatewayJson } from "./access-client.ts";
import { type CliCommand, CliError, parseFlags } from "./command.ts";

const ADDRESS_USAGE = `  --gateway URL    the gateway's HTTP address (default: listen.public_url, else listen.http, of --config;
                   else $CUSTOS_GATEWAY, else http://127.0.0.1:8080)
  --config FILE    read the gateway address from this config (only its listen block; no secrets needed)
  --host NAME      the host name clients use for the SSH listener (default: the gateway URL's host)`;

/** known_hosts names a non-22 port as `[host]:port` (sshd(8), SSH_KNOWN_HOSTS FILE FORMAT). */
function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function sshHost(flags: Record<string, string | boolean | undefined>, base: string): string {
  if (typeof flags.host === "string") return flags.host;
  return new URL(base).hostname.replace(/^\[|\]$/g, "");
}

export const sshCaCommand: CliCommand = {
  name: "ssh ca",
  summary: "print the gateway's SSH host key (known_hosts) and its user CA key",
  usage: `usage: custos ssh ca [--gateway URL | --config FILE] [--host NAME]

Prints two lines: the gateway's host key as a known_hosts line ([host]:port ssh-ed25519 …), and the SSH
user CA that signs \`custos ssh login\` certificates as a \`cert-authority\` line (the authorized_keys /
TrustedUserCAKeys form). The gateway presents a plain host key, not a host certificate, so a known_hosts
\`@cert-authority\` entry would match nothing: pin the host key line.
${ADDRESS_USAGE}`,
  async run(argv) {
    const { flags } = parseFlags(argv, { gateway: "string", config: "string", host: "string" });
    const base = gatewayBase(flags);
    const ca = await gatewayJson(`${base}/ssh/ca`, { method: "GET" });
    const host = sshHost(flags, base);
    process.stdout.write(
      `${knownHostsName(host, Number(ca.port))} ${ca.host_key}\ncert-authority ${ca.ca_key} custos-ssh-user-ca\n`,
    );
    return 0;
  },
};

export const sshLoginCommand: CliCommand = {
  name: "ssh login",
  summary: "write a short-lived SSH key and certificate for the token's identity",
  usage: `usage: custos ssh login [--token T] [--connection NAME] [--out DIR] [--gateway URL | --config FILE]

Makes a fresh ed25519 key pair in DIR (default ~/.custos/ssh), has the gateway check the token and sign an
OpenSSH user certificate for its public key (principal = the token's subject, valid until the token
expires, only permit-pty; with --connection, good for that connection only), writes the gateway's host key
to DIR/known_hosts and prints the ssh command line for each connection the identity may open.
  --token T        your identity token (default: $CUSTOS_TOKEN)
${ADDRESS_USAGE}`,
  async run(argv) {
    const { flags } = parseFlags(argv, {
      gateway: "string",
      config: "string",
      host: "string",
      token: "string",
      connection: "string",
      out: "string",
    });
    const token = typeof flags.token === "string" ? flags.token : process.env.CUSTOS_TOKEN;
    if (!token) throw new CliError("needs --token T (or CUSTOS_TOKEN)", 2);
    if (flags.connection === "") throw new CliError("--connection needs a name", 2);
    const base = gatewayBase(flags);
    const dir = resolve(typeof flags.out === "string" ? flags.out : join(homedir(), ".custos", "ssh"));
    const pair = generateEd25519("custos ssh login");
    const answer = await gatewayJson(`${base}/ssh/certificate`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({
        public_key: pair.public,
        ...(typeof flags.connection === "string" ? { connection: flags.connection } : {}),
      }),
    });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const keyFile = join(dir, "id_ed25519");
    const certFile = `${keyFile}-cert.pub`;
    const knownHosts = join(dir, "known_hosts");
    const host = sshHost(flags, base);
    const port = Number(answer.port);
    // An existing file keeps its mode on write: narrowed first, so the new key is never readable by others.
    if (existsSync(keyFile)) chmodSync(keyFile, 0o600);
    writeFileSync(keyFile, pair.private, { mode: 0o600 });
    writeFileSync(`${keyFile}.pub`, `${pair.public}\n`, { mode: 0o644 });
    writeFileSync(certFile, `${answer.certificate}\n`, { mode: 0o644 });
    writeFileSync(knownHosts, `${knownHostsName(host, port)} ${answer.host_key}\n`, { mode: 0o644 });
    process.stderr.write(
      `certificate serial ${answer.serial} for ${answer.principal}, valid until ${answer.valid_before}\n`,
    );
    const connections = (answer.connections as string[] | undefined) ?? [];
    for (const c of connections)
      process.stdout.write(
        `ssh -i ${keyFile} -o CertificateFile=${certFile} -o IdentitiesOnly=yes -o UserKnownHostsFile=${knownHosts} -p ${port} ${c}@${host}\n`,
      );
    return 0;
  },
};
