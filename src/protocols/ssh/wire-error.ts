// How refusals reach an SSH client: a line on the channel's stderr naming the rule and reason (and the
// approval when a human decided), since SSH has no error message for a refused command; the exit status
// is session.ts's REFUSED_STATUS.
import type { Decision } from "../../core/decision.ts";

export function refusalText(d: Decision): string {
  const approval = d.approval ? ` (approval ${d.approval.id}: ${d.approval.status})` : "";
  return `custos: denied by ${d.rule}: ${d.reason}${approval}\r\n`;
}
