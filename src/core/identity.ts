// Who is acting. Produced by identity/, consumed by the pipeline and (as policy input) by policy/.

export type IdentityKind = "human" | "agent" | "service";

export interface Identity {
  subject: string;
  issuer: string;
  groups: string[];
  kind: IdentityKind;
  /** How the identity was proven: an IdP's OIDC token, or a token this gateway signed. */
  method: "oidc" | "gateway_token";
  /** Token expiry, epoch milliseconds. */
  expiresAt: number;
  /** Authentication context worth keeping as evidence (F7, F8): amr, acr, client id, on-behalf-of. */
  context: {
    amr?: string[];
    acr?: string;
    clientId?: string;
    actor?: string;
    tokenId?: string;
  };
}
