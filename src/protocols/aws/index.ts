// AWS APIs through Custos (issue 18): the caller's SDK or CLI points endpoint_url at listen.aws and takes
// gateway-minted credentials from `custos aws credentials`; each call is verified, decided, re-signed
// with the target's credentials, masked and recorded.
import type { ConnectionInfo } from "../../core/session.ts";
import type { ProtocolModule } from "../registry.ts";
import { startAwsServer } from "./server.ts";
import type { AwsTarget } from "./target.ts";

export const awsProtocol: ProtocolModule<AwsTarget> = {
  type: "aws",
  start: (ctx, connections: ConnectionInfo<AwsTarget>[]) => startAwsServer(ctx, connections),
};
