// What a kubernetes connection's sessions carry (ConnectionInfo.target): the API server, how the gateway
// authenticates there, and the relay's bounds. Config (kubernetes-load.ts) builds it; it holds the
// gateway's credential, so it is never logged or recorded.

export interface RevealableSecret {
  reveal(): string;
}

export interface KubernetesTarget {
  /** The API server's base URL without trailing slash. */
  server: string;
  /** PEM of the CA that signs the API server's certificate. */
  ca: string;
  token: RevealableSecret | null;
  clientCert: string | null;
  clientKey: RevealableSecret | null;
  /** Impersonate-User/Group = the caller. */
  impersonate: boolean;
  /** Until the API server's response headers arrive. */
  timeoutMs: number;
  limits: { policyBody: number; maskBody: number; recordBody: number };
}
