// The contract between a protocol and the rest of the gateway. A protocol gets a `Gateway` (built by
// pipeline/) and calls it; it never imports identity, policy or audit directly.

import type { Command, CommandOutcome } from "./command.ts";
import type { Decision } from "./decision.ts";
import type { CustosError } from "./errors.ts";
import type { Frame } from "./frame.ts";
import type { Identity } from "./identity.ts";

export interface TlsInfo {
  protocol: string | null;
  cipher: string | null;
}

export interface ConnectRequest {
  protocol: string;
  clientAddr: string;
  /** The identity token as presented (e.g. the PostgreSQL password). Never logged or recorded. */
  credential: string;
  /**
   * Instead of a credential: an identity a token proved earlier, kept by the protocol under its own signed
   * record (an SSH certificate's). Its expiry is checked again; connection, groups and grants as for a token.
   */
  proven?: Identity;
  /** Client-declared user name; informational only. */
  user: string;
  /** Connection name the client asked for (the PostgreSQL database name). */
  connection: string;
  applicationName?: string;
  /** Null for plaintext transports. */
  tls: TlsInfo | null;
}

export interface ConnectionInfo<Target = unknown> {
  name: string;
  type: string;
  labels: string[];
  /** Protocol-specific target; holds the upstream secret, so never logged or recorded. */
  target: Target;
}

export interface SessionLimits {
  idleTimeoutMs: number;
  maxSessionMs: number;
}

export interface SessionStats {
  bytesFromClient: number;
  bytesToClient: number;
  commands: number;
}

/** What a statement under review is bound to besides its text: the bind parameters of that execution. */
export interface ReviewBinding {
  /** Extended protocol: the Bind's parameter values (null for SQL NULL); absent for a simple query. */
  params?: (Uint8Array | null)[];
  paramFormats?: number[];
}

/** Told to the waiting client as soon as the request exists (PostgreSQL: a NoticeResponse). */
export interface ReviewNotice {
  requestId: string;
  message: string;
  hint: string;
}

export interface GatewaySession<Target = unknown> {
  readonly id: string;
  readonly identity: Identity;
  readonly connection: ConnectionInfo<Target>;
  readonly limits: SessionLimits;
  /** Decide a command. Fails closed: any error becomes a deny. */
  decide(command: Command): Decision | Promise<Decision>;
  /**
   * Holds a command the policy answered `review` until humans decide: files the request, calls `notify`
   * with where to approve it, and resolves with the decision to enforce (allow once approved; deny when
   * denied, timed out, abandoned or when approvals are unavailable). Never rejects.
   */
  review(
    command: Command,
    decision: Decision,
    binding: ReviewBinding,
    notify: (notice: ReviewNotice) => void,
  ): Promise<Decision>;
  /** Buffer one frame of the session recording. */
  record(frame: Frame, bytes?: number): void;
  /** Buffer a stretch of a byte stream as one frame, `{t, dir, kind, data: {bytes}}` (the hot path's). */
  recordBytes(dir: Frame["dir"], t: number, kind: string, bytes: Uint8Array): void;
  /**
   * Null while the recording keeps up; else resolves when its backlog has drained. A protocol pauses the
   * stream it reads from meanwhile, so memory stays bounded and nothing is forwarded unrecorded.
   */
  recordingBacklog(): Promise<void> | null;
  /** Resolves once everything recorded so far is committed to the audit store; rejects with audit.unavailable. */
  durable(): Promise<void>;
  /** A command finished (or was refused): writes its audit event. */
  completed(command: Command, decision: Decision, outcome: CommandOutcome): void;
  /** A protocol-level event worth auditing (upstream errors, cancels). */
  event(type: string, data: Record<string, unknown>): void;
  /** True while the audit store accepts writes; protocols refuse new commands when false. */
  recordable(): boolean;
  /** The gateway ends the session (shutdown, store failure, grant expiry); the protocol tells its client. */
  onTerminate(listener: (reason: CustosError) => void): void;
  close(reason: string, stats: SessionStats): Promise<void>;
}

export type OpenResult<Target = unknown> =
  | { ok: true; session: GatewaySession<Target> }
  | { ok: false; error: CustosError };

/** A connection as a front door lists it for one identity: no target, so no secret. */
export interface UsableConnection {
  name: string;
  type: string;
  labels: string[];
}

export type FrontDoorResult =
  | { ok: true; session: GatewaySession<null>; connections: UsableConnection[] }
  | { ok: false; error: CustosError };

export interface Gateway {
  open<Target>(request: ConnectRequest): Promise<OpenResult<Target>>;
  /**
   * A front door that offers other connections (MCP at /mcp): authenticates the credential, opens a session
   * of the front door itself (`request.connection` names it; it reaches no upstream) and lists the
   * connections the identity's groups may open. Each is then reached through its own protocol.
   */
  openFrontDoor?(request: ConnectRequest): Promise<FrontDoorResult>;
  /** Protocols report failures that happen before a session exists (garbage bytes, bad startup). */
  reject(protocol: string, clientAddr: string, error: CustosError): void;
  /**
   * What a connection's catalog says changed (a view redefined, a classification scan's new findings):
   * decisions cached on the old answers are dropped.
   */
  catalogChanged?(connection: string): void;
  /** An audit event about a connection rather than a session (classification scan findings). */
  connectionEvent?(connection: string, type: string, data: Record<string, unknown>): void;
}
