// An exec or attach session's recording as asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/):
// a header line, then one [seconds, code, data] event per line: "o" for stdout and stderr, "i" for stdin,
// "r" for a resize ("COLSxROWS"), "m" (marker) for the exit status. `asciinema play` replays it. Pure.
import type { Frame } from "../../core/frame.ts";

const decoder = new TextDecoder();

export interface AsciicastOptions {
  /** Header `title`, e.g. the command that ran. */
  title?: string;
  width?: number;
  height?: number;
}

export function toAsciicast(frames: readonly Frame[], opts: AsciicastOptions = {}): string {
  const streams = frames.filter((f) => STREAM_KINDS.has(f.kind));
  const start = streams[0]?.t ?? frames[0]?.t ?? 0;
  let width = opts.width ?? 80;
  let height = opts.height ?? 24;
  const firstResize = streams.find((f) => f.kind === "resize");
  const size = firstResize ? resizeOf(firstResize) : null;
  if (size) [width, height] = size;
  const header = {
    version: 2,
    width,
    height,
    timestamp: Math.floor(start / 1e6),
    ...(opts.title ? { title: opts.title } : {}),
  };
  const lines = [JSON.stringify(header)];
  for (const f of streams) {
    const at = Math.max(0, (f.t - start) / 1e6);
    const time = Number(at.toFixed(6));
    if (f.kind === "stdout" || f.kind === "stderr") lines.push(JSON.stringify([time, "o", text(f)]));
    else if (f.kind === "stdin") lines.push(JSON.stringify([time, "i", text(f)]));
    else if (f.kind === "resize") {
      const s = resizeOf(f);
      if (s) lines.push(JSON.stringify([time, "r", `${s[0]}x${s[1]}`]));
    } else if (f.kind === "status") {
      const code = (f.data as { exit_code?: number | null } | undefined)?.exit_code;
      lines.push(JSON.stringify([time, "m", `exit ${code ?? "unknown"}`]));
    }
  }
  return `${lines.join("\n")}\n`;
}

const STREAM_KINDS = new Set(["stdout", "stderr", "stdin", "resize", "status"]);

function text(f: Frame): string {
  const bytes = (f.data as { bytes?: Uint8Array } | undefined)?.bytes;
  return bytes ? decoder.decode(bytes) : "";
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
