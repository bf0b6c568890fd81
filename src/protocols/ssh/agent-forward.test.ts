import { describe, expect, test } from "bun:test";
import { createRequire } from "node:module";
import { MAX_WINDOW, PACKET_SIZE } from "./agent-forward.ts";

describe("agent channels opened through ssh2's internals", () => {
  test("the window and packet size written out are the installed ssh2's own", () => {
    const channel = createRequire(import.meta.url)("ssh2/lib/Channel.js") as {
      MAX_WINDOW: number;
      PACKET_SIZE: number;
    };
    expect(MAX_WINDOW).toBe(channel.MAX_WINDOW);
    expect(PACKET_SIZE).toBe(channel.PACKET_SIZE);
  });
});
