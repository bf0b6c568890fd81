// The SSH listener: OpenSSH clients connect as `<connection>@gateway` and authenticate with their identity
// token as the password (or the keyboard-interactive answer), or with a certificate from `custos ssh login`
// (cert-login.ts); the gateway opens a gateway session for it (identity checked, connection allowed,
// session.start recorded) and hands the connection to session.ts.
// Unauthenticated clients get a bounded time and three attempts; malformed input ends only that client.
import type { AddressInfo } from "node:net";
import ssh2 from "ssh2";
import { CustosError } from "../../core/errors.ts";
import type { Identity } from "../../core/identity.ts";
import type { Logger } from "../../core/log.ts";
import type { ConnectionInfo, Gateway, GatewaySession } from "../../core/session.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import { type Address, listenersShared } from "../../net/listen.ts";
import type { CertificateAuthority } from "./cert-authority.ts";
import type { CertificateIssuer } from "./cert-issuer.ts";
import { certificateLogin } from "./cert-login.ts";
import { PROTOCOL } from "./command.ts";
import { ClientConnection } from "./session.ts";
import type { SshTarget } from "./target.ts";

export interface SshServerOptions {
  gateway: Gateway;
  masking: MaskingEngine;
  logger: Logger;
  hostKey: string;
  listen: Address;
  authTimeoutMs: number;
  connections: ConnectionInfo<SshTarget>[];
  certificates: { ca: CertificateAuthority; issuer: CertificateIssuer };
}

const MAX_AUTH_FAILURES = 3;
/** Plain keys a client offers before its certificate (an agent's several keys): refused without a count. */
const MAX_KEY_QUERIES = 10;
const METHODS: ssh2.AuthenticationType[] = ["publickey", "password", "keyboard-interactive"];

export async function startSshServer(
  o: SshServerOptions,
): Promise<{ port: number; stop(graceMs: number): Promise<void> }> {
  const live = new Set<ClientConnection>();
  const sockets = new Set<ssh2.Connection>();
  const server = new ssh2.Server(
    { hostKeys: [o.hostKey], ident: "Custos", highWaterMark: 1 << 20 },
    (client, info) => {
      const clientAddr = `${info.ip}:${info.port}`;
      sockets.add(client);
      let failures = 0;
      let keyQueries = 0;
      let session: GatewaySession<SshTarget> | null = null;
      const authTimer = setTimeout(() => {
        if (!session) {
          o.gateway.reject(
            PROTOCOL,
            clientAddr,
            new CustosError("identity.missing", "no authentication in time"),
          );
          client.end();
        }
      }, o.authTimeoutMs);
      authTimer.unref();
      // A certificate's login presents no token: its record's identity, proven when it was issued.
      const tryToken = async (user: string, token: string, proven?: Identity): Promise<boolean> => {
        const subject = proven?.subject;
        const opened = await o.gateway.open<SshTarget>({
          protocol: PROTOCOL,
          clientAddr,
          credential: token,
          ...(proven ? { proven } : {}),
          user,
          connection: user,
          applicationName: info.header.versions.software,
          tls: null,
        });
        if (!opened.ok) return false;
        // A certificate's principal is the subject its token had when it was issued; it still must be.
        if (subject !== undefined && opened.session.identity.subject !== subject) {
          await opened.session.close("client", { bytesFromClient: 0, bytesToClient: 0, commands: 0 });
          return false;
        }
        session = opened.session;
        return true;
      };
      client.on("authentication", (ctx) => {
        const reject = () => {
          if (++failures >= MAX_AUTH_FAILURES) {
            ctx.reject();
            client.end();
          } else ctx.reject(METHODS);
        };
        if (session) return ctx.reject();
        if (ctx.method === "password") {
          tryToken(ctx.username, ctx.password).then((ok) => (ok ? ctx.accept() : reject()), reject);
        } else if (ctx.method === "keyboard-interactive") {
          ctx.prompt([{ prompt: "Custos identity token (password): ", echo: false }], "Custos", (answers) => {
            const token = answers[0];
            if (!token) return reject();
            tryToken(ctx.username, token).then((ok) => (ok ? ctx.accept() : reject()), reject);
          });
        } else if (ctx.method === "publickey") {
          const login = certificateLogin(o.certificates, ctx, BigInt(Math.floor(Date.now() / 1000)));
          if (login.kind === "not-a-certificate") {
            if (++keyQueries > MAX_KEY_QUERIES) return reject();
            return ctx.reject(METHODS);
          }
          if (login.kind === "refused") {
            o.gateway.reject(
              PROTOCOL,
              clientAddr,
              new CustosError("identity.invalid", `SSH certificate: ${login.reason}`),
            );
            return reject();
          }
          // No signature yet: the client asks whether this certificate would do (RFC 4252 §7, PK_OK).
          if (login.kind === "acceptable") return ctx.accept();
          tryToken(ctx.username, "", login.record.identity).then(
            (ok) => (ok ? ctx.accept() : reject()),
            reject,
          );
        } else ctx.reject(METHODS);
      });
      client.on("ready", () => {
        clearTimeout(authTimer);
        if (!session) return client.end();
        const conn = new ClientConnection(client, session, {
          masking: o.masking,
          logger: o.logger,
          dialTimeoutMs: 15_000,
        });
        live.add(conn);
        client.on("close", () => live.delete(conn));
      });
      client.on("error", (err) => {
        // Garbage, oversized packets, a failed key exchange: this client ends, the listener serves on.
        if (!session)
          o.gateway.reject(
            PROTOCOL,
            clientAddr,
            new CustosError("protocol.malformed", `SSH: ${err.message}`),
          );
        else session.event("protocol.error", { message: err.message });
      });
      client.on("close", () => {
        clearTimeout(authTimer);
        sockets.delete(client);
      });
    },
  );
  server.on("error", (err: Error) => o.logger.error("ssh listener error", { error: err.message }));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: o.listen.port, host: o.listen.host, reusePort: listenersShared() }, () =>
      resolve(),
    );
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    async stop(graceMs) {
      server.close();
      if (graceMs > 0 && live.size > 0) await Bun.sleep(graceMs);
      const shutdown = new CustosError("gateway.shutting_down", "the gateway is shutting down");
      for (const c of live) c.end(shutdown);
      await Promise.all([...live].map((c) => c.close("shutdown")));
      for (const s of sockets) s.end();
    },
  };
}
