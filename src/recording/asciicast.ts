// Terminal recordings as asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/): a header line
// and one `[seconds, code, data]` event per line, built from a session's recorded frames. Protocol-neutral:
// any protocol with a terminal (SSH shells and exec, Kubernetes exec/attach) records these frame kinds,
// and the CLI (`custos sessions play|export`) and the console's player read them through this file.
//
// Frame kinds (core/frame.ts Frame; `t` is epoch microseconds):
//   term.start   {cols, rows, term?}    a terminal opened (size and TERM); the first one sets the header size
//   term.out     {bytes}  dir server    output the client received (masked when the session was masked)
//   term.err     {bytes}  dir server    a separate error stream (exec stderr); shown as output
//   term.in      {bytes}  dir client    keystrokes/input the client sent (event "i")
//   term.resize  {cols, rows}           the client's window changed (event "r", "COLSxROWS")
//   <proto>.command {text}               a command began (event "m", a marker labelled with the text)
//   <proto>.exit  {code, signal}         a command ended (event "m", "exit CODE" or "signal NAME")
// Other kinds are ignored, so a recording holding protocol frames beside these plays cleanly.
import type { Frame } from "../core/frame.ts";

export interface CastHeader {
  version: 2;
  width: number;
  height: number;
  /** Unix seconds of the first frame. */
  timestamp: number;
  title?: string;
  env?: { TERM?: string; SHELL?: string };
}

/** [seconds since the start, code, data]: o output, i input, r resize, m marker. */
export type CastEvent = [number, "o" | "i" | "r" | "m", string];

export interface Cast {
  header: CastHeader;
  events: CastEvent[];
}

const DEFAULT_SIZE = { cols: 80, rows: 24 };

/** The asciicast of a recording's terminal frames; null when it holds none (not a terminal session). */
export function castFromFrames(frames: readonly Frame[], title?: string): Cast | null {
  const terminal = frames.filter(isTerminalFrame);
  if (!terminal.some((f) => f.kind === "term.out" || f.kind === "term.err" || f.kind === "term.in"))
    return null;
  const start = terminal[0]!.t;
  const opened = terminal.find((f) => f.kind === "term.start")?.data;
  const header: CastHeader = {
    version: 2,
    width: num(opened?.cols) ?? DEFAULT_SIZE.cols,
    height: num(opened?.rows) ?? DEFAULT_SIZE.rows,
    timestamp: Math.floor(start / 1e6),
    ...(title ? { title } : {}),
    ...(typeof opened?.term === "string" && opened.term ? { env: { TERM: opened.term } } : {}),
  };
  // One streaming decoder per stream: a UTF-8 character split across frames is joined, never mangled.
  const decoders = new Map<string, TextDecoder>();
  const text = (stream: string, bytes: unknown): string => {
    let d = decoders.get(stream);
    if (!d) {
      d = new TextDecoder("utf-8");
      decoders.set(stream, d);
    }
    return bytes instanceof Uint8Array ? d.decode(bytes, { stream: true }) : "";
  };
  const events: CastEvent[] = [];
  let sawStart = false;
  for (const f of terminal) {
    const at = Math.max(0, (f.t - start) / 1e6);
    const d = f.data ?? {};
    switch (f.kind) {
      case "term.out":
      case "term.err": {
        const s = text(f.kind, d.bytes);
        if (s) events.push([at, "o", s]);
        break;
      }
      case "term.in": {
        const s = text("in", d.bytes);
        if (s) events.push([at, "i", s]);
        break;
      }
      case "term.resize":
        if (num(d.cols) && num(d.rows)) events.push([at, "r", `${d.cols}x${d.rows}`]);
        break;
      case "term.start":
        // A later terminal in the same session (a second channel) shows as a resize to its size.
        if (sawStart && num(d.cols) && num(d.rows)) events.push([at, "r", `${d.cols}x${d.rows}`]);
        sawStart = true;
        break;
      default:
        if (f.kind.endsWith(".command") && typeof d.text === "string") events.push([at, "m", d.text]);
        else if (f.kind.endsWith(".exit"))
          events.push([
            at,
            "m",
            typeof d.signal === "string" ? `signal ${d.signal}` : `exit ${d.code ?? "-"}`,
          ]);
    }
  }
  return { header, events };
}

function isTerminalFrame(f: Frame): boolean {
  return f.kind.startsWith("term.") || f.kind.endsWith(".command") || f.kind.endsWith(".exit");
}

function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? v : null;
}

/** The cast as asciicast v2 newline-delimited JSON (what `asciinema play FILE` reads). */
export function encodeCast(cast: Cast): string {
  const lines = [JSON.stringify(cast.header)];
  for (const [t, code, data] of cast.events) lines.push(JSON.stringify([Number(t.toFixed(6)), code, data]));
  return `${lines.join("\n")}\n`;
}

/** Parses asciicast v2 text; throws on anything else. */
export function parseCast(text: string): Cast {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const header = JSON.parse(lines[0] ?? "null") as CastHeader;
  if (!header || header.version !== 2) throw new Error("not an asciicast v2 file");
  const events = lines.slice(1).map((l) => {
    const e = JSON.parse(l) as CastEvent;
    if (!Array.isArray(e) || typeof e[0] !== "number" || typeof e[2] !== "string")
      throw new Error(`bad asciicast event: ${l}`);
    return e;
  });
  return { header, events };
}

export interface PlayOptions {
  /** 2 plays twice as fast; Infinity prints at once. */
  speed: number;
  /** Seconds into the recording to start at: output before it is written at once (the screen is rebuilt). */
  from: number;
  /** Pauses longer than this (seconds) are cut to it, as `asciinema play -i`. */
  maxIdle: number;
  write(s: string): void;
  sleep(ms: number): Promise<void>;
}

/** Plays a cast's output in (scaled) real time: only "o" events are written, as a terminal would show them. */
export async function playCast(cast: Cast, o: PlayOptions): Promise<void> {
  let last = o.from;
  let caughtUp = "";
  for (const [t, code, data] of cast.events) {
    if (code !== "o") continue;
    if (t < o.from) {
      caughtUp += data;
      continue;
    }
    if (caughtUp) {
      o.write(caughtUp);
      caughtUp = "";
    }
    const gap = Math.min(t - last, o.maxIdle);
    if (gap > 0 && Number.isFinite(o.speed)) await o.sleep((gap * 1000) / o.speed);
    last = t;
    o.write(data);
  }
  if (caughtUp) o.write(caughtUp);
}
