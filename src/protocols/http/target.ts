// What the HTTP protocol needs to reach an upstream service. Built by the composition root from config.

export interface RevealableSecret {
  reveal(): string;
}

export type HttpInjection =
  | { kind: "header"; name: string; value: RevealableSecret }
  | { kind: "query"; name: string; value: RevealableSecret }
  | { kind: "bearer"; token: RevealableSecret }
  | { kind: "basic"; user: string; password: RevealableSecret };

export interface HttpTarget {
  /** Base URL without trailing slash; the client's path below /c/<name> is appended. */
  url: string;
  inject: HttpInjection | null;
  tls: { ca: string | null; cert: string | null; key: RevealableSecret | null };
  /** Until the upstream's response headers arrive. */
  timeoutMs: number;
  limits: { policyBody: number; maskBody: number; recordBody: number };
  relay: {
    /** Lower-cased header names forwarded beyond the standard allow-list (headers.ts). */
    forwardHeaders: readonly string[];
    forwardCookies: boolean;
    methodOverride: boolean;
    /** Lower-cased `type/subtype` or `type/*` relayed unmasked to masked identities. */
    unmaskedTypes: readonly string[];
  };
}

/** The header the injection writes (lower-cased), so it is never taken from the client or recorded. */
export function injectedHeader(inject: HttpInjection | null): string | undefined {
  if (!inject) return undefined;
  if (inject.kind === "header") return inject.name.toLowerCase();
  return inject.kind === "query" ? undefined : "authorization";
}

/** Writes the credential into the upstream request. The client's value of the same field is replaced. */
/** `url` is needed only for a query credential (null otherwise: the caller forwards the string as it is). */
export function applyInjection(inject: HttpInjection | null, headers: Headers, url: URL | null): void {
  if (!inject) return;
  switch (inject.kind) {
    case "header":
      headers.set(inject.name, inject.value.reveal());
      return;
    case "query":
      if (url === null) throw new Error("a query credential needs the URL");
      url.searchParams.delete(inject.name);
      url.searchParams.append(inject.name, inject.value.reveal());
      return;
    case "bearer":
      headers.set("authorization", `Bearer ${inject.token.reveal()}`);
      return;
    case "basic":
      headers.set(
        "authorization",
        `Basic ${Buffer.from(`${inject.user}:${inject.password.reveal()}`).toString("base64")}`,
      );
  }
}
