// The default policy pack as shipped: a build committed in policy/dist, so a fresh clone runs the gateway
// without OPA installed. test/policy/shipped-bundle.test.ts keeps it in step with the Rego sources.
import { existsSync } from "node:fs";
import { CustosError } from "../core/errors.ts";
import { projectFile } from "../project-files.ts";

export const SHIPPED_BUNDLE = projectFile("policy/dist/default-bundle.tar.gz");

export async function shippedBundle(): Promise<string> {
  if (!existsSync(SHIPPED_BUNDLE)) {
    throw new CustosError(
      "policy.unavailable",
      `the shipped policy bundle ${SHIPPED_BUNDLE} is missing: run ./custos policy build --dist`,
    );
  }
  return SHIPPED_BUNDLE;
}
