// Progress on a call that waits (held for an approver, or an AWS call the listener keeps until humans
// decide): the client's progressToken is told now and then, so clients that reset their time-out on
// progress keep waiting. MCP spec, "Progress": notifications/progress with a progress that increases.
import type { CallExtra } from "./tool-call.ts";

const PROGRESS_EVERY_MS = 5_000;

/**
 * Reports `message` on the client's progressToken every PROGRESS_EVERY_MS (and once at once when `now`)
 * until the returned stop is called. Without a progressToken it reports nothing. A notification that
 * cannot be sent (the client went away) is dropped: the call's own outcome says what happened.
 */
export function progressTicker(
  extra: Pick<CallExtra, "progressToken" | "progress">,
  message: string,
  now: boolean,
): () => void {
  const token = extra.progressToken;
  if (token === undefined) return () => undefined;
  let n = 0;
  const tell = () => void extra.progress(token, ++n, message).catch(() => undefined);
  if (now) tell();
  const ticker = setInterval(tell, PROGRESS_EVERY_MS);
  return () => clearInterval(ticker);
}
