// The stdio transport to an upstream MCP server the gateway starts (MCP 2025-11-25 basic/transports §stdio:
// newline-delimited JSON-RPC on stdin/stdout, logs on stderr), bounded where the SDK's is not: a line past
// `maxMessage` bytes (or that many bytes with no newline) kills the child and fails what is pending, so a
// runaway server cannot make the gateway buffer without end (ENFORCEMENT.md 7). Its stderr is logged only
// as capped lines with the secrets the gateway handed it, and anything shaped like a credential, removed.
import { type ChildProcess, spawn } from "node:child_process";
import { deserializeMessage, serializeMessage } from "@modelcontextprotocol/sdk/shared/stdio.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { Logger } from "../../core/log.ts";

export interface StdioTarget {
  command: string[];
  env: Record<string, string>;
  cwd: string | null;
  maxMessage: number;
  /** Values that must never reach the log (the secrets in `env`). */
  secrets: string[];
}

// What of a child's stderr reaches the log: lines cut to this length, at most this many per child.
const STDERR_LINE = 512;
const STDERR_LINES = 200;
const NEWLINE = 0x0a;

// Shapes of credentials a server might print (replaced with their name kept, so the line still reads).
const BEARER = /\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+/gi;
const JWT = /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g;
const NAMED =
  /\b([A-Za-z0-9_-]*(?:pass(?:word)?|secret|token|api[-_]?key|credential)[A-Za-z0-9_-]*)(\s*[=:]\s*)("[^"]*"|'[^']*'|\S+)/gi;
const OPAQUE = /[A-Za-z0-9+/_-]{32,}={0,2}/g;

/** A stderr line as it may be logged: cut, with every secret the child was given and every credential shape replaced. */
export function redactStderr(line: string, secrets: readonly string[]): string {
  // Redacted before it is cut, so a secret that straddles the cut is not half shown.
  let out = line.slice(0, STDERR_LINE * 4);
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join("[redacted]");
  out = out
    .replace(BEARER, "$1 [redacted]")
    .replace(JWT, "[redacted]")
    .replace(NAMED, "$1$2[redacted]")
    .replace(OPAQUE, "[redacted]");
  return out.length > STDERR_LINE ? `${out.slice(0, STDERR_LINE)}…` : out;
}

export class BoundedStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T) => void;
  private child: ChildProcess | null = null;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private stderrLines = 0;
  private stderrRest = "";
  private closed = false;
  /** Why the gateway stopped the child, once it has: what a failed call reports instead of "closed". */
  failure: string | null = null;

  constructor(
    private readonly target: StdioTarget,
    private readonly log: Logger,
  ) {}

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const [program, ...args] = this.target.command;
      const child = spawn(program!, args, {
        env: this.target.env,
        ...(this.target.cwd ? { cwd: this.target.cwd } : {}),
        stdio: ["pipe", "pipe", "pipe"],
        shell: false,
        windowsHide: true,
      });
      this.child = child;
      child.on("error", (err) => {
        reject(err);
        this.onerror?.(err);
      });
      child.on("spawn", () => resolve());
      child.on("close", () => this.finish());
      child.stdin?.on("error", (err) => this.onerror?.(err));
      child.stdout?.on("data", (chunk: Buffer) => this.read(chunk));
      child.stderr?.on("data", (chunk: Buffer) => this.stderr(chunk));
    });
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      const stdin = this.child?.stdin;
      if (!stdin || this.closed) return reject(new Error("the upstream process is not running"));
      if (stdin.write(serializeMessage(message))) resolve();
      else stdin.once("drain", () => resolve());
    });
  }

  async close(): Promise<void> {
    this.kill();
    this.finish();
  }

  private read(chunk: Buffer): void {
    let start = 0;
    for (let at = chunk.indexOf(NEWLINE); at !== -1; at = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, at);
      start = at + 1;
      if (this.pendingBytes + piece.byteLength > this.target.maxMessage) return this.tooLarge();
      // One concat only when a line spans chunks.
      const line = this.pending.length === 0 ? piece : Buffer.concat([...this.pending, piece]);
      this.pending = [];
      this.pendingBytes = 0;
      this.deliver(line.toString("utf8").replace(/\r$/, ""));
      if (this.closed) return;
    }
    const rest = chunk.subarray(start);
    if (rest.byteLength === 0) return;
    if (this.pendingBytes + rest.byteLength > this.target.maxMessage) return this.tooLarge();
    this.pending.push(Buffer.from(rest));
    this.pendingBytes += rest.byteLength;
  }

  private deliver(line: string): void {
    if (line.trim() === "") return;
    let message: JSONRPCMessage;
    try {
      message = deserializeMessage(line);
    } catch (err) {
      this.onerror?.(
        new Error(`the upstream wrote a line that is not JSON-RPC: ${String(err).slice(0, 200)}`),
      );
      return;
    }
    this.onmessage?.(message);
  }

  private tooLarge(): void {
    const err = new Error(
      `the upstream wrote a message larger than ${this.target.maxMessage} bytes (max_message); it was stopped`,
    );
    this.failure = err.message;
    this.log.warn("mcp upstream message too large: process stopped", { max_message: this.target.maxMessage });
    this.pending = [];
    this.pendingBytes = 0;
    this.onerror?.(err);
    this.kill();
    this.finish();
  }

  private stderr(chunk: Buffer): void {
    if (this.stderrLines >= STDERR_LINES) return;
    const text = this.stderrRest + chunk.toString("utf8");
    const lines = text.split("\n");
    // A line still being written is kept, but never more than one line's worth.
    this.stderrRest = (lines.pop() ?? "").slice(0, STDERR_LINE * 2);
    const secrets = this.target.secrets;
    for (const line of lines) {
      if (line.trim() === "") continue;
      if (++this.stderrLines > STDERR_LINES) {
        this.log.warn("mcp upstream stderr: further lines are not logged", { lines: STDERR_LINES });
        return;
      }
      this.log.warn("mcp upstream stderr", { line: redactStderr(line, secrets) });
    }
  }

  private kill(): void {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null)
      this.child.kill("SIGKILL");
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.();
  }
}
