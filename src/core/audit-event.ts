// The audit log's vocabulary. Each event type serves rows of shared/ffiec-controls.md (named beside it).
// Events never carry secrets (passwords, tokens, keys) or row data; recordings hold the (masked) stream.

export type AuditEventType =
  | "gateway.start" // F13: instance, version, config hash
  | "gateway.stop" // F13
  | "auth.success" // F1, F7, F8, F10: subject, issuer, groups, kind, method, amr/acr
  | "auth.failure" // F7: reason code, detail, client address, requested connection
  | "session.start" // F1, F6: identity bound to the target account Custos used, client address, application
  | "session.end" // F6, F17: reason (client, idle_timeout, max_duration, error, shutdown), bytes, statements
  | "statement" // F4: who, target, text, fingerprint, decision and rule, rows, tag or error, duration, input_digest
  | "statement.rollback" // F4: an autocommit write the gateway ran in its own transaction did not commit (its COMMIT failed, or the session ended before it; `uncertain` when the answer never came)
  | "policy.input" // F4, F14: the JSON input a decision was evaluated on (digest, bundle), for `policy explain`
  | "upstream.error" // F4, F6: connection, code, message
  | "token.issued" // F1, F10: a gateway token minted (who ran the CLI, subject, groups, kind, ttl, jti; never the token)
  | "aws.credential_issued" // F1, F10: a short-lived AWS access key id minted for a session (never the secret)
  | "aws.role_assumed" // F1, F6: the role, RoleSessionName and SourceIdentity a session's calls go upstream as
  | "evidence.exported" // F14, F16: who exported which range (filters, logs, event count) and the bundle's SHA-256
  | "recording.batch"; // F11: session id, batch sequence, frame count, SHA-256 of the stored batch

export interface AuditEvent {
  type: AuditEventType | (string & {});
  /** Epoch milliseconds. */
  time: number;
  sessionId?: string;
  /** Event-specific fields: plain JSON-like values or Uint8Array. */
  data: Record<string, unknown>;
}
