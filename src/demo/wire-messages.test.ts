import { describe, expect, test } from "bun:test";
import { cString, fatalError, parseStartupParams, startupRefusal } from "./wire-messages.ts";

function startup(params: Record<string, string>, version = 0x00030000): Uint8Array {
  const body = new TextEncoder().encode(
    `${Object.entries(params)
      .map(([k, v]) => `${k}\0${v}\0`)
      .join("")}\0`,
  );
  const out = new Uint8Array(8 + body.length);
  const view = new DataView(out.buffer);
  view.setInt32(0, out.length);
  view.setInt32(4, version);
  out.set(body, 8);
  return out;
}
const expected = { user: "postgres", database: "postgres" };

describe("wire messages", () => {
  test("fatalError is a well-formed ErrorResponse", () => {
    const msg = fatalError("28P01", "password authentication failed");
    expect(String.fromCharCode(msg[0]!)).toBe("E");
    expect(new DataView(msg.buffer).getInt32(1)).toBe(msg.length - 1);
    const text = new TextDecoder().decode(msg.subarray(5));
    expect(text).toBe("SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed\0\0");
  });

  test("parseStartupParams reads pairs and rejects bad layouts", () => {
    const ok = parseStartupParams(startup({ user: "postgres", database: "postgres" }).subarray(8));
    expect(ok?.get("user")).toBe("postgres");
    expect(parseStartupParams(new TextEncoder().encode("user\0postgres\0"))).toBeUndefined();
    expect(parseStartupParams(new TextEncoder().encode("user\0\0"))).toBeUndefined();
  });

  test("cString needs a terminator", () => {
    expect(cString(new TextEncoder().encode("xabc\0"), 1)).toBe("abc");
    expect(cString(new TextEncoder().encode("abc"), 0)).toBeUndefined();
  });

  test("startupRefusal explains every refused startup", () => {
    const cases: [Uint8Array, number, string | undefined][] = [
      [startup({ user: "postgres" }), 0x00030000, undefined],
      [startup({ user: "postgres", database: "postgres" }), 0x00030002, undefined],
      [startup({ user: "postgres" }, 0x00020000), 0x00020000, "0A000"],
      [startup({ database: "postgres" }), 0x00030000, "28000"],
      [startup({ user: "mallory" }), 0x00030000, "28000"],
      [startup({ user: "postgres", database: "bank" }), 0x00030000, "3D000"],
    ];
    for (const [frame, code, sqlstate] of cases)
      expect(startupRefusal(frame, code, expected)?.sqlstate).toBe(sqlstate);
    const broken = startup({ user: "postgres" }).subarray(0, -1);
    expect(startupRefusal(broken, 0x00030000, expected)?.sqlstate).toBe("08P01");
  });
});
