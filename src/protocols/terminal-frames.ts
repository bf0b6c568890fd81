// A protocol whose recorder writes its own frame kinds for terminal streams maps them onto the shared
// term.* kinds (recording/asciicast.ts) here, so the CLI and the console replay every protocol's terminal
// sessions through one player. Protocols that record term.* frames themselves (SSH) need no entry.
import type { Frame } from "../core/frame.ts";
import { terminalFrames as kubernetesTerminalFrames } from "./kubernetes/asciicast.ts";

const adapters: Record<string, (frames: readonly Frame[]) => Frame[]> = {
  kubernetes: kubernetesTerminalFrames,
};

/** The session's frames in the shared terminal vocabulary. */
export function terminalFramesOf(
  protocol: string | null | undefined,
  frames: readonly Frame[],
): readonly Frame[] {
  const adapt = protocol ? adapters[protocol] : undefined;
  return adapt ? adapt(frames) : frames;
}
