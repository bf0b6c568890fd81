// The admin API's OpenAPI 3.1 document, served at /api/openapi.json. Written by hand next to the routes it
// describes; test/api/openapi.test.ts checks that every route the app answers is in it and vice versa.
type Schema = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema, description = "OK") => ({
  description,
  content: { "application/json": { schema } },
});
const query = (name: string, description: string, schema: Schema = { type: "string" }) => ({
  name,
  in: "query",
  required: false,
  description,
  schema,
});
const idParam = (description: string) => ({
  name: "id",
  in: "path",
  required: true,
  description,
  schema: { type: "string" },
});
const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ref("Error") } },
});
const errors = {
  "400": problem("Malformed query or body, or a cursor this API did not issue for this resource"),
  "401": problem("No or invalid credentials"),
  "403": problem("The caller lacks the role"),
};
const limit = (def: number, max: number) =>
  query("limit", `Page size (default ${def})`, { type: "integer", minimum: 1, maximum: max });
const cursor = query("cursor", "Opaque cursor from the previous page's next_cursor");
const nullable = (type: string) => ({ type: [type, "null"] });

function op(summary: string, roles: string, response: Schema, extra: Schema = {}) {
  return { summary, description: `Roles: ${roles}.`, responses: { "200": response, ...errors }, ...extra };
}

const reasonBody = {
  required: true,
  content: {
    "application/json": {
      schema: {
        type: "object",
        required: ["reason"],
        properties: { reason: { type: "string", maxLength: 1000 } },
      },
    },
  },
};

export const openApiDocument = {
  openapi: "3.1.0",
  info: {
    title: "Custos admin API",
    version: "1",
    description:
      "Sessions, recordings, approvals, audit integrity, policy and connections of one Custos gateway. Authenticate with a Bearer token from a trusted issuer (or a gateway token), or with the console's session cookie. Roles come from groups (config console.roles): admin, approver, auditor (read-only). Times are epoch milliseconds. Every read of a recording is itself an audit event (recording.read).",
  },
  security: [{ bearer: [] }, { cookie: [] }],
  paths: {
    "/api/me": { get: op("The caller: subject, groups and roles", "any", json(ref("Me"))) },
    "/api/sessions": {
      get: op(
        "Sessions, newest first, filtered and cursor-paged",
        "admin, auditor",
        json(ref("SessionPage")),
        {
          parameters: [
            query("subject", "Exact subject"),
            query("connection", "Connection name"),
            query("from", "Started at or after (ISO 8601 or epoch ms)"),
            query("to", "Started before (ISO 8601 or epoch ms)"),
            query("outcome", "open, or the end reason", {
              type: "string",
              enum: ["open", "client", "idle_timeout", "max_duration", "error", "shutdown"],
            }),
            limit(50, 500),
            cursor,
          ],
        },
      ),
    },
    "/api/sessions/{id}": {
      get: op("One session", "admin, auditor", json(ref("Session")), { parameters: [idParam("Session id")] }),
    },
    "/api/sessions/{id}/transcript": {
      get: op(
        "The session's audit events in log order (statements with decision, rule, timing, outcome)",
        "admin, auditor",
        json(ref("Transcript")),
        {
          parameters: [idParam("Session id")],
        },
      ),
    },
    "/api/sessions/{id}/frames": {
      get: op(
        "The session's recorded protocol frames, paged; bytes as UTF-8 text or {base64}",
        "admin, auditor",
        json(ref("FramePage")),
        {
          parameters: [idParam("Session id"), limit(500, 5000), cursor],
        },
      ),
    },
    "/api/sessions/{id}/replay": {
      get: op(
        "Statements joined with the results the client received (masked rows, tags, errors)",
        "admin, auditor",
        json(ref("Replay")),
        {
          parameters: [idParam("Session id")],
        },
      ),
    },
    // Served by the approvals module (src/api/approvals.ts): Bearer tokens only; requesters see their own
    // requests, members of a request's approver groups see and decide it.
    "/api/approvals": {
      get: op(
        "Statement reviews and access requests visible to the caller, newest first",
        "any authenticated identity (console roles not required)",
        json(ref("ApprovalList")),
        {
          parameters: [
            query("status", "Filter by status", {
              type: "string",
              enum: ["pending", "approved", "denied", "expired", "abandoned", "revoked"],
            }),
            query("kind", "statement or access", { type: "string", enum: ["statement", "access"] }),
            query("limit", "Page size (default 100)", { type: "integer", minimum: 1 }),
          ],
        },
      ),
    },
    "/api/approvals/{id}": {
      get: op(
        "One request with its decisions",
        "its requester or its approver groups",
        json(ref("Approval")),
        { parameters: [idParam("Request id")] },
      ),
    },
    "/api/approvals/{id}/approve": {
      post: op(
        "Approve with a reason",
        "the request's approver groups; never one's own request",
        json(ref("Approval")),
        {
          parameters: [idParam("Request id")],
          requestBody: reasonBody,
        },
      ),
    },
    "/api/approvals/{id}/deny": {
      post: op("Deny with a reason", "the request's approver groups", json(ref("Approval")), {
        parameters: [idParam("Request id")],
        requestBody: reasonBody,
      }),
    },
    "/api/approvals/{id}/revoke": {
      post: op(
        "Revoke an approved access grant (open sessions of the grant are closed)",
        "the request's approver groups",
        json(ref("Approval")),
        {
          parameters: [idParam("Request id")],
          requestBody: reasonBody,
        },
      ),
    },
    "/api/access-requests": {
      post: {
        summary: "File a just-in-time access request for a connection",
        description: "Roles: any identity in the connection's allow_groups.",
        requestBody: {
          required: true,
          content: {
            "application/json": {
              schema: {
                type: "object",
                required: ["connection", "reason"],
                properties: {
                  connection: { type: "string" },
                  duration: { type: "string", description: "e.g. 30m" },
                  duration_ms: { type: "integer" },
                  reason: { type: "string" },
                },
              },
            },
          },
        },
        responses: { "201": json(ref("Approval"), "Filed"), ...errors },
      },
    },
    "/api/audit/status": {
      get: op(
        "Cached result of verifying the audit log, latest checkpoint per log, store counts",
        "admin, auditor",
        json(ref("AuditStatus")),
      ),
    },
    "/api/audit/verify": {
      post: op(
        "Verify the audit log now (waits up to 2 s, then answers running: true)",
        "admin, auditor",
        json(ref("AuditStatus")),
      ),
    },
    "/api/policy": { get: op("The loaded policy bundle", "admin, auditor", json(ref("Policy"))) },
    "/api/connections": {
      get: op(
        "Configured connections; credentials are never shown",
        "admin, auditor",
        json(ref("ConnectionList")),
      ),
    },
    "/api/connections/{name}/classification": {
      get: op(
        "Where a PostgreSQL connection's regulated data is: configured column labels and the latest classification scan's findings (columns, classes, counts; never a value). 404 for an unknown or non-PostgreSQL connection",
        "admin, auditor",
        json(ref("Classification")),
        {
          parameters: [
            {
              name: "name",
              in: "path",
              required: true,
              description: "Connection name",
              schema: { type: "string" },
            },
          ],
        },
      ),
    },
    "/api/openapi.json": {
      get: { summary: "This document", security: [], responses: { "200": json({ type: "object" }) } },
    },
  },
  components: {
    securitySchemes: {
      bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
      cookie: { type: "apiKey", in: "cookie", name: "custos_console" },
    },
    schemas: {
      Error: {
        type: "object",
        description: "RFC 9457 problem details; `error` repeats code and message in this API's older shape",
        required: ["error"],
        properties: {
          type: { type: "string" },
          title: { type: "string" },
          status: { type: "integer" },
          detail: { type: "string" },
          error: { type: "object", properties: { code: { type: "string" }, message: { type: "string" } } },
        },
      },
      Me: {
        type: "object",
        properties: {
          subject: { type: "string" },
          issuer: { type: "string" },
          groups: { type: "array", items: { type: "string" } },
          roles: { type: "array", items: { type: "string", enum: ["admin", "approver", "auditor"] } },
          via: { type: "string", enum: ["bearer", "cookie"] },
        },
      },
      Session: {
        type: "object",
        properties: {
          id: { type: "string" },
          log_id: { type: "string" },
          subject: nullable("string"),
          issuer: nullable("string"),
          kind: nullable("string"),
          connection: nullable("string"),
          protocol: nullable("string"),
          target_user: nullable("string"),
          client_addr: nullable("string"),
          application: nullable("string"),
          started_at: { type: "integer" },
          ended_at: nullable("integer"),
          end_reason: nullable("string"),
          outcome: { type: "string" },
          statements: { type: "integer" },
          bytes_in: { type: "integer" },
          bytes_out: { type: "integer" },
          integrity: {
            description:
              "How the stored sessions row compares with the session's audit events: ok, pruned (retention removed the events), or the columns that differ (the row is then shown as the events say).",
            oneOf: [
              { type: "string", enum: ["ok", "pruned"] },
              {
                type: "object",
                properties: { differs_from_log: { type: "array", items: { type: "string" } } },
              },
            ],
          },
        },
      },
      SessionPage: {
        type: "object",
        properties: { items: { type: "array", items: ref("Session") }, next_cursor: nullable("string") },
      },
      Transcript: {
        type: "object",
        properties: {
          session: ref("Session"),
          events: {
            type: "array",
            items: {
              type: "object",
              properties: {
                seq: { type: "integer" },
                log_id: { type: "string" },
                type: { type: "string" },
                time: { type: "integer" },
                data: { type: "object" },
              },
            },
          },
        },
      },
      FramePage: {
        type: "object",
        properties: {
          items: {
            type: "array",
            items: {
              type: "object",
              properties: {
                t: { type: "integer", description: "epoch microseconds" },
                dir: { type: "string", enum: ["client", "server"] },
                kind: { type: "string" },
                data: {},
              },
            },
          },
          total: { type: "integer" },
          next_cursor: nullable("string"),
        },
      },
      Replay: {
        type: "object",
        properties: {
          session: ref("Session"),
          steps: {
            type: "array",
            items: {
              type: "object",
              properties: {
                index: { type: "integer" },
                time: { type: "integer" },
                offsetMs: { type: "integer" },
                durationUs: nullable("integer"),
                text: { type: "string" },
                action: { type: "string" },
                rule: nullable("string"),
                reason: nullable("string"),
                tag: nullable("string"),
                rowCount: nullable("integer"),
                error: nullable("string"),
                result: {
                  type: ["object", "null"],
                  properties: {
                    columns: { type: "array", items: { type: "string" } },
                    rows: { type: "array", items: { type: "array", items: nullable("string") } },
                    more: { type: "integer" },
                    tags: { type: "array", items: { type: "string" } },
                    errors: { type: "array", items: { type: "object" } },
                    notices: { type: "array", items: { type: "string" } },
                  },
                },
              },
            },
          },
        },
      },
      Approval: {
        type: "object",
        properties: {
          id: { type: "string" },
          kind: { type: "string", enum: ["statement", "access"] },
          status: {
            type: "string",
            enum: ["pending", "approved", "denied", "expired", "abandoned", "revoked"],
          },
          connection: { type: "string" },
          requester: {
            type: "object",
            properties: {
              subject: { type: "string" },
              issuer: { type: "string" },
              groups: { type: "array", items: { type: "string" } },
              kind: { type: "string" },
            },
          },
          session_id: nullable("string"),
          statement: {
            type: ["object", "null"],
            properties: {
              text: { type: "string" },
              hash: { type: "string" },
              params: { type: ["array", "null"] },
            },
          },
          rule: nullable("string"),
          reason: { type: "string" },
          approver_groups: { type: "array", items: { type: "string" } },
          min_approvals: { type: "integer" },
          duration_ms: nullable("integer"),
          created_at: { type: "integer" },
          deadline: { type: "integer" },
          decided_at: nullable("integer"),
          grant_expires_at: nullable("integer"),
          consumed_at: nullable("integer"),
          ended_reason: nullable("string"),
          decisions: {
            type: "array",
            items: {
              type: "object",
              properties: {
                approver: { type: "string" },
                issuer: { type: "string" },
                groups: { type: "array", items: { type: "string" } },
                amr: { type: ["array", "null"], items: { type: "string" } },
                verdict: { type: "string", enum: ["approve", "deny", "revoke"] },
                reason: { type: "string" },
                time: { type: "integer" },
              },
            },
          },
        },
      },
      ApprovalList: { type: "object", properties: { requests: { type: "array", items: ref("Approval") } } },
      AuditStatus: {
        type: "object",
        properties: {
          verify: {
            type: "object",
            properties: {
              ok: nullable("boolean"),
              checked_at: nullable("integer"),
              took_ms: nullable("integer"),
              running: { type: "boolean" },
              error: nullable("string"),
              logs: { type: "array", items: { type: "object" } },
            },
          },
          logs: { type: "array", items: { type: "object" } },
          counts: { type: "object" },
        },
      },
      Policy: {
        type: "object",
        properties: {
          loaded: { type: "boolean" },
          hash: nullable("string"),
          loaded_at: nullable("integer"),
          source: { type: "string" },
        },
      },
      Classification: {
        type: "object",
        required: ["connection", "configured", "scanning", "scan"],
        properties: {
          connection: { type: "string" },
          configured: {
            type: "array",
            description: "connections[].column_labels: schema.table.column and its classes",
            items: {
              type: "object",
              properties: {
                column: { type: "string" },
                labels: { type: "array", items: { type: "string" } },
              },
            },
          },
          scanning: { type: "boolean" },
          next_scan_at: nullable("string"),
          scan: {
            type: ["object", "null"],
            properties: {
              started_at: { type: "string" },
              finished_at: { type: "string" },
              tables_scanned: { type: "integer" },
              tables_skipped: { type: "integer" },
              sample_rows: { type: "integer" },
              findings: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    column: { type: "string", description: "schema.table.column" },
                    labels: {
                      type: "array",
                      items: { type: "string" },
                      description: "detector names that matched",
                    },
                    hits: { type: "object", additionalProperties: { type: "integer" } },
                    sampled: { type: "integer", description: "non-null values sampled" },
                  },
                },
              },
              errors: {
                type: "array",
                items: {
                  type: "object",
                  properties: { table: { type: "string" }, error: { type: "string" } },
                },
              },
            },
          },
        },
      },
      ConnectionList: { type: "object", properties: { items: { type: "array", items: { type: "object" } } } },
    },
  },
} as const;
