// Reads a session's recording decoded for its protocol (deps.decodeRecording), the one way the API and the
// console get frames, so both show the same thing.
import type { SessionRow } from "../../audit/store.ts";
import type { Frame } from "../../core/frame.ts";
import type { AdminDeps } from "./deps.ts";

export async function sessionFrames(deps: AdminDeps, session: SessionRow): Promise<Frame[]> {
  const stored = await deps.store.sessionFrames(session.id);
  return deps.decodeRecording ? deps.decodeRecording(session.protocol, stored) : stored;
}
