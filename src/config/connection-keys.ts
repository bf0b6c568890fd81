// Keys every connection type shares (name, groups, labels, time-outs, retention, approvals) and the
// primitives their schemas are built from. Pure, like schema.ts. A protocol's own schema
// (src/config/<protocol>-schema.ts) spreads `commonConnectionKeys` and adds its `type` and `target`.
import { z } from "zod";
import { retention } from "./audit-schema.ts";
import { parseDuration } from "./duration.ts";
import { parseListenAddress } from "./listen-address.ts";
import { parseSize } from "./size.ts";

export const nonEmpty = z.string().min(1, "must not be empty");
export const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected an environment variable name");
export const port = z.number().int().min(1).max(65535);

export const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === null || ms <= 0) {
    ctx.addIssue({ code: "custom", message: `expected a duration like 500ms, 30s, 15m, 8h, got "${text}"` });
    return z.NEVER;
  }
  return ms;
});

export const size = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const bytes = parseSize(value);
  if (bytes === null || bytes === 0) {
    ctx.addIssue({
      code: "custom",
      message: `expected a size like 64MiB or 1GiB, got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return bytes;
});

export const listenAddress = z.string().transform((text, ctx) => {
  const parsed = parseListenAddress(text);
  if (typeof parsed === "string") {
    ctx.addIssue({ code: "custom", message: parsed });
    return z.NEVER;
  }
  return parsed;
});

// Clients name the connection in their protocol (the PostgreSQL database, the SSH user, a path segment),
// so it must be a plain identifier.
export const connectionName = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$/, "expected 1-63 of A-Z a-z 0-9 _ . -");

// Just-in-time access and statement review (approvals issue): who approves, how many, for how long.
export const accessKeys = {
  access: z.enum(["standing", "request"]).default("standing"),
  approvers: z.array(nonEmpty).default([]),
  min_approvals: z.number().int().min(1).max(10).default(1),
  max_duration: duration.default(4 * 3_600_000),
  review_timeout: duration.default(5 * 60_000),
};

export const commonConnectionKeys = {
  name: connectionName,
  allow_groups: z.array(nonEmpty).min(1, "name at least one group"),
  labels: z.array(nonEmpty).default([]),
  idle_timeout: duration.default(15 * 60_000),
  max_session: duration.default(8 * 3_600_000),
  // Live sessions one identity may hold on this connection; beyond, refused before the upstream is dialed.
  max_sessions_per_identity: z.number().int().min(1).default(20),
  retention: retention.optional(),
  ...accessKeys,
};

/** The output of `commonConnectionKeys`, as a protocol's resolver receives it. */
export type RawCommonConnection = z.output<z.ZodObject<typeof commonConnectionKeys>>;
