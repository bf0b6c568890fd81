// The server's own reports of the settings the classifier assumes (ParameterStatus, protocol-flow
// "Asynchronous Operations"): client_encoding and standard_conforming_strings are GUC_REPORT, so any
// change, however it was made (a function's set_config, ALTER ... SET picked up on reload), is reported
// before the next ReadyForQuery. A value the parser does not assume ends the session. server_encoding is
// not watched: every server encoding is ASCII-safe (PostgreSQL refuses SJIS, BIG5, GBK and the like as
// server encodings), and the client→server conversion validates the UTF-8 the gateway read.
import { CustosError } from "../../core/errors.ts";
import { isParserSetting, parserAssumes } from "../../sql/parser-settings.ts";
import * as codec from "./codec.ts";

/** The session-ending error for a ParameterStatus ('S') message, or null when the value is assumed. */
export function parameterProblem(message: Uint8Array): CustosError | null {
  const { name, value } = codec.decodeParameterStatus(message);
  if (!isParserSetting(name) || parserAssumes(name, value)) return null;
  return new CustosError(
    "upstream.protocol",
    `terminating connection: the server reports ${name} ${value}, which the gateway cannot parse SQL under`,
    { parameter: name, value },
  );
}
