// What the SSH protocol needs to reach a target: built from config (config/ssh-load.ts) and held only by
// the gateway. The credential never reaches a client, a log or a recording.

export interface RevealableSecret {
  reveal(): string;
}

export interface SshTarget {
  host: string;
  port: number;
  user: string;
  auth: { kind: "key"; privateKey: RevealableSecret } | { kind: "password"; password: RevealableSecret };
  /** The target's accepted host keys; any other key (a changed one included) ends the dial. */
  hostKeys: { type: string; blob: Uint8Array }[];
  /** Bytes of each SFTP transfer's content kept in the recording. */
  recordContent: number;
}
