// The fast-path FunctionCall ('F', protocol-message-formats): a function called by OID with its arguments,
// as libpq's large-object API does. The relay decides it as the equivalent `SELECT schema.fn($1, …)` (the
// name resolved through the catalog connection), with the arguments as the parameters an approval binds to.
import * as codec from "./codec.ts";

export interface FunctionCall {
  oid: number;
  params: (Uint8Array | null)[];
  paramFormats: number[];
}

/** Int32 function OID; Int16 C, Int16[C] argument formats; Int16 N, N × (Int32 length or -1, bytes); Int16 result format. */
export function decodeFunctionCall(m: Uint8Array): FunctionCall {
  const r = codec.body(m);
  const oid = r.int32() >>> 0;
  const paramFormats: number[] = [];
  for (let i = 0, n = r.int16(); i < n; i++) paramFormats.push(r.int16());
  const params: (Uint8Array | null)[] = [];
  for (let i = 0, n = r.int16(); i < n; i++) {
    const len = r.int32();
    params.push(len === -1 ? null : r.bytes(len));
  }
  r.int16();
  return { oid, params, paramFormats };
}

/** The statement a call stands for: `SELECT pg_catalog.lo_open($1, $2)`. */
export function callText(name: string, args: number): string {
  return `SELECT ${name}(${Array.from({ length: args }, (_, i) => `$${i + 1}`).join(", ")})`;
}
