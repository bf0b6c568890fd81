// The shape of `type: kubernetes` connections: the API server, the CA that signs its certificate, the
// gateway's own credential there (a token file, or a client certificate and key), whether to impersonate
// the caller, and the bounds the relay applies. Pure; paths and secrets resolve in kubernetes-load.ts.
import { z } from "zod";
import { commonConnectionKeys, duration, nonEmpty, size } from "./connection-keys.ts";

const serverUrl = z.string().refine((text) => {
  try {
    const url = new URL(text);
    return url.protocol === "https:" && !url.search && !url.hash && !url.username && !url.password;
  } catch {
    return false;
  }
}, "expected an https:// URL without query, fragment or credentials");

export const kubernetesConnection = z.strictObject({
  type: z.literal("kubernetes"),
  ...commonConnectionKeys,
  target: z.strictObject({
    server: serverUrl,
    ca_file: nonEmpty,
    token_file: nonEmpty.optional(),
    client_cert_file: nonEmpty.optional(),
    client_key_file: nonEmpty.optional(),
    // Impersonate-User/Group = the caller, so the cluster's RBAC and audit log see the agent.
    impersonate: z.boolean().default(true),
  }),
  // Until the API server's response headers arrive; watches and streams then run as long as they last.
  timeout: duration.default(30_000),
  limits: z
    .strictObject({
      // Write bodies up to this size (the API server takes 3 MiB) are parsed into the policy input
      // (`object`); larger ones are refused.
      policy_body: size.default(3 << 20),
      // The largest JSON document or watch event masked whole; larger ones are refused for masked callers.
      mask_body: size.default(16 << 20),
      // Response bytes kept in the session recording per request.
      record_body: size.default(64 << 10),
    })
    .default({ policy_body: 3 << 20, mask_body: 16 << 20, record_body: 64 << 10 }),
});

export type RawKubernetesConnection = z.output<typeof kubernetesConnection>;
