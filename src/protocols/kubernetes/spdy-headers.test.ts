import { expect, test } from "bun:test";
import { constants, createDeflate } from "node:zlib";
import { DICTIONARY, SpdyHeaderDecoder } from "./spdy-headers.ts";

function block(pairs: [string, string][]): Buffer {
  const parts: Buffer[] = [Buffer.alloc(4)];
  parts[0]!.writeUInt32BE(pairs.length);
  for (const [k, v] of pairs) {
    const kl = Buffer.alloc(4);
    kl.writeUInt32BE(k.length);
    const vl = Buffer.alloc(4);
    vl.writeUInt32BE(v.length);
    parts.push(kl, Buffer.from(k), vl, Buffer.from(v));
  }
  return Buffer.concat(parts);
}

test("header blocks of one direction share a zlib stream primed with the SPDY/3 dictionary", async () => {
  expect(DICTIONARY.length).toBe(1423);
  const deflate = createDeflate({ dictionary: DICTIONARY });
  const out: Buffer[] = [];
  deflate.on("data", (c: Buffer) => out.push(c));
  const compress = async (b: Buffer) => {
    deflate.write(b);
    await new Promise<void>((r) => deflate.flush(constants.Z_SYNC_FLUSH, () => r()));
    const got = Buffer.concat(out);
    out.length = 0;
    return got;
  };
  const d = new SpdyHeaderDecoder();
  const first = await compress(block([["streamType", "stdout"]]));
  const second = await compress(
    block([
      ["streamtype", "error"],
      ["port", "8080"],
    ]),
  );
  expect(d.decode(first)).toEqual({ streamtype: "stdout" });
  expect(d.decode(second)).toEqual({ streamtype: "error", port: "8080" });
  expect(new SpdyHeaderDecoder().decode(Buffer.from("not zlib"))).toBeNull();
});
