// What the MySQL protocol needs to reach an upstream server (MySQL or MariaDB). Built from config.

export interface RevealableSecret {
  reveal(): string;
}

export interface MysqlTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  /** Revealed only while answering the server's scramble. */
  password?: RevealableSecret;
  tls: "disable" | "prefer" | "require" | "verify-full";
  /** PEM bundle to verify the server with (verify-full). */
  ca?: string;
  connectTimeoutMs?: number;
  /** How long a statement held for review waits before the client is told the request id (held.ts). */
  heldReplyMs?: number;
  /** How long after its approval the held statement, sent again, runs. */
  heldRetryMs?: number;
}
