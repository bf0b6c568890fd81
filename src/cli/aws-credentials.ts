// `custos aws credentials --connection C --token T`: asks the running gateway for short-lived AWS
// credentials bound to the caller's identity and prints them as the JSON the AWS CLI and SDKs read from
// a `credential_process` setting. The secret is derived by the gateway and printed only here.
import { CLIENT_USAGE, gatewayBase, gatewayJson } from "./access-client.ts";
import { type CliCommand, CliError, parseFlags } from "./command.ts";

export const awsCredentialsCommand: CliCommand = {
  name: "aws credentials",
  summary: "print gateway-minted AWS credentials (credential_process JSON)",
  usage: `usage: custos aws credentials --connection NAME [--token T] [--gateway URL | --config FILE]

Prints {"Version": 1, "AccessKeyId", "SecretAccessKey", "Expiration"} for connection NAME, minted by the
gateway for the identity of the token (checked now, and again whenever the gateway reopens the session).
Use it in ~/.aws/config:  credential_process = custos aws credentials --connection NAME --token ...
${CLIENT_USAGE}`,
  async run(argv) {
    const { flags } = parseFlags(argv, {
      gateway: "string",
      config: "string",
      token: "string",
      connection: "string",
    });
    if (typeof flags.connection !== "string" || flags.connection === "")
      throw new CliError("aws credentials needs --connection NAME", 2);
    const token = typeof flags.token === "string" ? flags.token : process.env.CUSTOS_TOKEN;
    if (!token) throw new CliError("needs --token T (or CUSTOS_TOKEN)", 2);
    const base = gatewayBase(flags);
    const json = await gatewayJson(
      `${base}/aws/credentials`,
      {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ connection: flags.connection }),
      },
      base,
    );
    process.stdout.write(`${JSON.stringify(json)}\n`);
    return 0;
  },
};
