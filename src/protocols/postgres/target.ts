// What the PostgreSQL protocol needs to reach an upstream server. Built by the pipeline from config.

export interface RevealableSecret {
  reveal(): string;
}

import type { ClassificationSettings } from "./connection-classification.ts";

export interface PostgresTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  /** Absent for trust authentication. Revealed only while answering the server's challenge. */
  password?: RevealableSecret;
  tls: "disable" | "prefer" | "require" | "verify-full";
  /** PEM bundle to verify the server with (verify-full). */
  ca?: string;
  connectTimeoutMs?: number;
  /** Sensitive columns by configuration and the classification scan's settings; defaults when absent. */
  classification?: ClassificationSettings;
}
