// What the admin API and console need from the gateway, built in the composition root (src/gateway.ts) and
// passed in as one object: the API imports no gateway internals, so tests can build it around a real store.
import type { AuditStore } from "../../audit/store.ts";
import type { ExpectedLog } from "../../audit/verify.ts";
import type { ConsoleConfig } from "../../config/types.ts";
import type { AuditEvent } from "../../core/audit-event.ts";
import type { Frame } from "../../core/frame.ts";
import type { ExpanderFactory } from "../../core/recording-expander.ts";
import type { Authenticator } from "../../identity/authenticator.ts";
import type { ClassificationView } from "../../protocols/postgres/connection-classification.ts";
import type { ApprovalsPort } from "./approvals-port.ts";

/** A connection as the API shows it: where it points and who may use it, never a credential. */
export interface ConnectionSummary {
  name: string;
  type: string;
  /** host:port/database for PostgreSQL, the base URL for HTTP. */
  target: string;
  user?: string;
  tls?: string;
  allowGroups: string[];
  labels: string[];
  access?: {
    mode: string;
    approvers: string[];
    minApprovals: number;
    maxDurationMs: number;
    reviewTimeoutMs: number;
  };
  idleTimeoutMs: number;
  maxSessionMs: number;
}

export interface AdminDeps {
  console: ConsoleConfig;
  connections: ConnectionSummary[];
  authenticator: Authenticator;
  /** A read handle on the audit store (the recorder worker owns the writing one). */
  store: AuditStore;
  /** Appends to the audit log: reads of recordings and console sign-ins are events too (F9). */
  audit: { event(event: AuditEvent): void };
  policy: { hash(): string | null; loadedAt(): number | null; source: string | null };
  /** This gateway's log id and public key, so the integrity panel can say which log is ours. */
  logId: string;
  gatewayPublicKey: Uint8Array;
  /** Seals the console session cookie (console-key.ts). */
  cookieKey: Uint8Array;
  /** Null until the approvals module is wired in: the routes then answer 503. */
  approvals: ApprovalsPort | null;
  /** What each PostgreSQL connection knows of its sensitive columns (labels, scan findings); absent: 503. */
  classification?: { view(connection: string): ClassificationView | null };
  /**
   * Turns a session's stored recording into decoded frames for its protocol (a PostgreSQL session is stored
   * as raw byte streams); identity when absent. Keeps the API free of protocol codecs.
   */
  decodeRecording?: (protocol: string | null, frames: Frame[]) => Frame[];
  /**
   * The same decode batch by batch, resumable at any batch boundary: what lets the frames endpoint read only
   * the batches of one page (frame-pages.ts). Pass-through when absent.
   */
  recordingExpander?: ExpanderFactory;
  /** Mark cookies Secure (the listener is behind TLS). */
  secureCookies: boolean;
  /** What the integrity panel's verify must also find: this gateway's logs up to the head in its data_dir. */
  verifyExpect?: () => Promise<ExpectedLog[]>;
  /** How long a verify result is served before the next request re-runs it. Default 60 s. */
  verifyMaxAgeMs?: number;
  now?: () => number;
}
