// `custos healthcheck [--url URL]`: exit 0 when the gateway's /healthz answers 200, 1 otherwise. For
// container HEALTHCHECKs and probes run inside the image, which has the executable and nothing else.
import { type CliCommand, parseFlags } from "./command.ts";

export const healthcheckCommand: CliCommand = {
  name: "healthcheck",
  summary: "exit 0 when a gateway's /healthz answers 200 (for container health checks)",
  usage: `usage: custos healthcheck [--url URL] [--timeout 3s]

Asks URL (default: $CUSTOS_HEALTHZ_URL, else http://127.0.0.1:8080/healthz) and exits 0 on 200, 1 on
anything else (503 while the audit store is not writable or no policy bundle is loaded), naming the
status or the error on stderr.`,
  async run(argv) {
    const { flags } = parseFlags(argv, { url: "string", timeout: "string" });
    const url =
      (flags.url as string | undefined) ?? process.env.CUSTOS_HEALTHZ_URL ?? "http://127.0.0.1:8080/healthz";
    const seconds = Number(String(flags.timeout ?? "3s").replace(/s$/, "")) || 3;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(seconds * 1000) });
      if (res.status === 200) return 0;
      process.stderr.write(`custos: ${url} answered ${res.status}\n`);
    } catch (err) {
      process.stderr.write(`custos: ${url}: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    return 1;
  },
};
