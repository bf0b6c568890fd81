// Who the API server is asked to treat the caller as (Impersonate-User / Impersonate-Group). The names
// come from the identity provider, so the cluster's reserved `system:` namespace is closed to them: an
// IdP group called `system:masters` must not become cluster-admin through the gateway's account.
import { CustosError } from "../../core/errors.ts";
import type { Identity } from "../../core/identity.ts";
import type { Caller } from "./headers.ts";

export function callerOf(identity: Identity): Caller | CustosError {
  if (identity.subject.startsWith("system:"))
    return new CustosError(
      "access.forbidden",
      "an identity whose subject starts with system: is not impersonated (the cluster reserves it)",
    );
  return { subject: identity.subject, groups: identity.groups.filter((g) => !g.startsWith("system:")) };
}
