import { describe, expect, test } from "bun:test";
import { castJson, PLAYER_JS, SCREEN_JS } from "./terminal-player.ts";

interface Screen {
  write(s: string): void;
  resize(cols: number, rows: number): void;
  text(): string;
}
const CustosScreen = new Function(`${SCREEN_JS}; return CustosScreen;`)() as new (
  cols: number,
  rows: number,
) => Screen;

describe("the console's terminal screen", () => {
  test("text, CR/LF, backspace, cursor moves, erase and scrolling", () => {
    const s = new CustosScreen(20, 3);
    s.write("gw$ ls\r\nfile-a  file-b\r\n");
    expect(s.text()).toBe("gw$ ls\nfile-a  file-b\n");
    s.write("\u001b[31mred\u001b[0m tex\bxt\r\n");
    expect(s.text()).toBe("file-a  file-b\nred text\n");
    s.write("\u001b[2J\u001b[1;1Htop\u001b[2;5Hmid\u001b[1;2H\u001b[K");
    expect(s.text()).toBe("t\n    mid\n");
    // OSC (window title) is skipped; a long line wraps.
    s.write("\u001b]0;title\u0007\u001b[3;1H12345678901234567890xy");
    expect(s.text()).toBe("    mid\n12345678901234567890\nxy");
  });

  test("the player script parses and the embedded cast cannot close its script element", () => {
    expect(() => new Function(PLAYER_JS)).not.toThrow();
    const json = castJson({
      header: { version: 2 },
      events: [[0, "o", "</script><script>alert(1)</script>"]],
    });
    expect(json).not.toContain("</script>");
    expect(JSON.parse(json).events[0][2]).toBe("</script><script>alert(1)</script>");
  });
});
