// Helpers the SSH suites share for the real OpenSSH tools they drive around the gateway: running a command
// to its end, and a counting proxy in front of a real ssh-agent (what a forwarded agent channel reached).

/** Runs a command to its end (killed after `timeoutMs`), with extra environment and optional stdin. */
export async function run(
  cmd: string[],
  env: Record<string, string> = {},
  stdin?: string,
  timeoutMs = 30_000,
) {
  const p = Bun.spawn(cmd, {
    stdin: stdin === undefined ? "ignore" : Buffer.from(stdin),
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...env },
  });
  const timer = setTimeout(() => p.kill(), timeoutMs);
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  clearTimeout(timer);
  return { stdout, stderr, code };
}

export interface AgentProxy {
  /** Connections the proxy received (each piped to the real agent). */
  connections(): number;
  stop(): void;
}

/** A unix socket at `proxySock` that counts connections and pipes each to the agent at `agentSock`. */
export function startAgentProxy(proxySock: string, agentSock: string): AgentProxy {
  let connections = 0;
  const server = Bun.listen<{ agent?: Awaited<ReturnType<typeof Bun.connect>>; queue: Uint8Array[] }>({
    unix: proxySock,
    socket: {
      async open(s) {
        connections++;
        s.data = { queue: [] };
        const a = await Bun.connect({
          unix: agentSock,
          socket: {
            data(_a, d) {
              s.write(d);
            },
            close() {
              s.end();
            },
          },
        });
        s.data.agent = a;
        for (const q of s.data.queue) a.write(q);
      },
      data(s, d) {
        if (s.data.agent) s.data.agent.write(d);
        else s.data.queue.push(new Uint8Array(d));
      },
      close(s) {
        s.data.agent?.end();
      },
    },
  });
  return { connections: () => connections, stop: () => server.stop() };
}
