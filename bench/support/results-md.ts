// Rewrites one generated section of bench/RESULTS.md between its markers and leaves everything else (other
// helpers' sections, hand-written analysis) byte for byte as it was.
import { CustosError } from "../../src/core/errors.ts";

export const begin = (id: string) =>
  `<!-- bench/run:${id}:begin (generated; edits inside are overwritten) -->`;
export const end = (id: string) => `<!-- bench/run:${id}:end -->`;

/**
 * Replaces the text between the markers of section `id`, or appends the section (markers included) when the
 * file has none. Refuses a file whose markers are unpaired or out of order rather than guess what to cut.
 */
export function replaceSection(doc: string, id: string, body: string): string {
  const b = begin(id);
  const e = end(id);
  const i = doc.indexOf(b);
  const j = doc.indexOf(e);
  const block = `${b}\n${body.trim()}\n${e}`;
  if (i === -1 && j === -1) return `${doc.replace(/\s*$/, "")}${doc.trim() ? "\n\n" : ""}${block}\n`;
  if (i === -1 || j === -1 || j < i || doc.indexOf(b, i + 1) !== -1 || doc.indexOf(e, j + 1) !== -1) {
    throw new CustosError(
      "internal",
      `bench/RESULTS.md: the markers of section "${id}" are unpaired, repeated or out of order`,
    );
  }
  return doc.slice(0, i) + block + doc.slice(j + e.length);
}
