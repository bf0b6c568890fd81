// The shape of `type: ssh` connections: the target host and account, the credential the gateway holds
// for it (a private key or a password, from a file or the environment), the target's pinned host key,
// and the SFTP recording bound. Pure, like schema.ts; files and secrets resolve in ssh-load.ts.
import { z } from "zod";
import { commonConnectionKeys, envName, nonEmpty, port, size } from "./connection-keys.ts";

const target = z.strictObject({
  host: nonEmpty,
  port: port.default(22),
  user: nonEmpty,
  private_key_file: nonEmpty.optional(),
  private_key_env: envName.optional(),
  password_env: envName.optional(),
  password_file: nonEmpty.optional(),
  // "ssh-ed25519 AAAA…" as in a .pub file or known_hosts line (without the host field).
  host_key: nonEmpty.optional(),
  known_hosts_file: nonEmpty.optional(),
});

export const sshConnection = z.strictObject({
  type: z.literal("ssh"),
  ...commonConnectionKeys,
  target,
  // Transferred file content kept in the recording, per transfer (name, size and SHA-256 always).
  record_content: size.default(64 << 10),
});

export type RawSshConnection = z.output<typeof sshConnection>;
