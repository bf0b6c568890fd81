// An exec or attach session's recording as asciicast v2, through the shared terminal recording
// (recording/asciicast.ts): the Kubernetes stream recorder's frame kinds (stdout, stderr, stdin, the resize
// channel's `{"Width":W,"Height":H}`, the error channel's status with its exit code) map onto the shared
// term.* kinds, so `custos sessions play|export` and the console's player replay them like SSH sessions. Pure.
import type { Frame } from "../../core/frame.ts";
import { castFromFrames, encodeCast } from "../../recording/asciicast.ts";

export interface AsciicastOptions {
  /** Header `title`, e.g. the command that ran. */
  title?: string;
}

/**
 * The shared terminal frames of a Kubernetes stream recording; other frames pass unchanged. Kubernetes has
 * no terminal-open frame: the first resize gives the size, as a term.start.
 */
export function terminalFrames(frames: readonly Frame[]): Frame[] {
  const mapped = frames.map((f): Frame => {
    switch (f.kind) {
      case "stdout":
        return { ...f, kind: "term.out" };
      case "stderr":
        return { ...f, kind: "term.err" };
      case "stdin":
        return { ...f, kind: "term.in" };
      case "resize": {
        const size = resizeOf(f);
        return size ? { ...f, kind: "term.resize", data: { cols: size[0], rows: size[1] } } : f;
      }
      case "status": {
        const code = (f.data as { exit_code?: number | null } | undefined)?.exit_code;
        return { ...f, kind: "kubernetes.exit", data: { code: code ?? "unknown" } };
      }
      default:
        return f;
    }
  });
  const first = mapped.find((f) => f.kind === "term.resize");
  return first ? [{ ...first, kind: "term.start" }, ...mapped] : mapped;
}

export function toAsciicast(frames: readonly Frame[], opts: AsciicastOptions = {}): string {
  const cast = castFromFrames(terminalFrames(frames), opts.title) ?? {
    header: { version: 2 as const, width: 80, height: 24, timestamp: Math.floor((frames[0]?.t ?? 0) / 1e6) },
    events: [],
  };
  return encodeCast(cast);
}

/** The resize channel carries `{"Width":W,"Height":H}` (remotecommand TerminalSize). */
function resizeOf(f: Frame): [number, number] | null {
  try {
    const s = JSON.parse((f.data as { text?: string }).text ?? "") as { Width?: number; Height?: number };
    return typeof s.Width === "number" && typeof s.Height === "number" ? [s.Width, s.Height] : null;
  } catch {
    return null;
  }
}
