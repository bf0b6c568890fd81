// audit.anchors, audit.retention, audit.max_size and connections[].retention (evidence issue): where signed
// checkpoints are published, how long event bodies and recordings are kept, and when the store is too big.
import { z } from "zod";
import { parseDuration } from "./duration.ts";
import { outboundUrl } from "./outbound-url.ts";
import { parseSize } from "./size.ts";

const nonEmpty = z.string().min(1, "must not be empty");
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected an environment variable name");

// Retention periods are long: years are accepted (1y = 365d).
const retentionPeriod = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === null || ms <= 0) {
    ctx.addIssue({ code: "custom", message: `expected a period like 400d or 7y, got "${text}"` });
    return z.NEVER;
  }
  return ms;
});

export const retention = z.strictObject({
  events: retentionPeriod.optional(),
  recordings: retentionPeriod.optional(),
});

const size = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const bytes = parseSize(value);
  if (bytes === null || bytes === 0) {
    ctx.addIssue({
      code: "custom",
      message: `expected a size like 500MiB or 20GiB, got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return bytes;
});

const anchorUrl = outboundUrl;

const anchorName = z.string().regex(/^[A-Za-z0-9_.-]{1,63}$/, "expected 1-63 of A-Z a-z 0-9 _ . -");

export const anchor = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("file"), name: anchorName.optional(), path: nonEmpty }),
  z.strictObject({
    type: z.literal("http"),
    name: anchorName.optional(),
    url: anchorUrl,
    secret_env: envName.optional(),
    secret_file: nonEmpty.optional(),
    auth: z.enum(["hmac", "bearer"]).default("hmac"),
  }),
]);

export const auditExtras = {
  anchors: z.array(anchor).default([]),
  retention: retention.default({}),
  // A metric and a /healthz warning once the store passes 90% of this.
  max_size: size.optional(),
  // How often the gateway prunes past retention (only when audit.retention or a connection's is set).
  prune_interval: z
    .string()
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === null || ms <= 0) {
        ctx.addIssue({ code: "custom", message: `expected a duration like 1h, got "${text}"` });
        return z.NEVER;
      }
      return ms;
    })
    .default(3_600_000),
};
