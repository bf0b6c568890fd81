import { describe, expect, test } from "bun:test";
import { parseShellWords } from "./shell-words.ts";

describe("parseShellWords", () => {
  test("plain commands are simple, with quote removal", () => {
    const cases: [string, string[]][] = [
      ["ls -la /tmp", ["ls", "-la", "/tmp"]],
      ["echo 'a b'  \"c d\"", ["echo", "a b", "c d"]],
      ["cat my\\ file", ["cat", "my file"]],
      ['echo "a\\"b" \'\'', ["echo", 'a"b', ""]],
      ["echo a\\\nb", ["echo", "ab"]],
      [
        "echo 'a;b' \"x|y\" 'c&&d' '$(id)' '`id`' '>f'",
        ["echo", "a;b", "x|y", "c&&d", "$(id)", "`id`", ">f"],
      ],
      ["echo a=b", ["echo", "a=b"]],
      ["echo $", ["echo", "$"]],
      ["grep -e x#y file", ["grep", "-e", "x#y", "file"]],
      ["echo \\*", ["echo", "*"]],
      ["echo '{a,b}'", ["echo", "{a,b}"]],
      ["echo {}", ["echo", "{}"]],
    ];
    for (const [input, argv] of cases) {
      const r = parseShellWords(input);
      expect({ input, argv: r.argv, simple: r.simple }).toEqual({ input, argv, simple: true });
    }
  });

  test("control operators are reported", () => {
    const cases: [string, string[]][] = [
      ["ls; rm -f x", [";"]],
      ["ls && rm x", ["&&"]],
      ["ls || rm x", ["||"]],
      ["ls | sh", ["|"]],
      ["ls |& sh", ["|&"]],
      ["sleep 1 & rm x", ["&"]],
      ["ls\nrm x", ["newline"]],
      ["(rm x)", ["(", ")"]],
      ["ls;rm x", [";"]],
      ["case a in a) rm x;; esac", [")", ";;"]],
    ];
    for (const [input, ops] of cases) {
      const r = parseShellWords(input);
      expect({ input, ops: r.operators, simple: r.simple }).toEqual({ input, ops, simple: false });
    }
  });

  test("redirections are reported with their IO number", () => {
    const cases: [string, string[]][] = [
      ["echo x > /tmp/f", [">"]],
      ["echo x >> /tmp/f", [">>"]],
      ["cat < /etc/passwd", ["<"]],
      ["ls 2>/dev/null", ["2>"]],
      ["ls 2>&1", ["2>&"]],
      ["ls &> f", ["&>"]],
      ["cat <<EOF", ["<<"]],
      ["cat <<< x", ["<<<"]],
      ["echo>f", [">"]],
      ["echo x >| f", [">|"]],
      ["cat <> f", ["<>"]],
    ];
    for (const [input, redirs] of cases) {
      const r = parseShellWords(input);
      expect({ input, redirs: r.redirections, simple: r.simple }).toEqual({ input, redirs, simple: false });
    }
    // `2` quoted or not directly before the operator is a word, not an IO number.
    expect(parseShellWords("echo '2'>f").redirections).toEqual([">"]);
    const spaced = parseShellWords("echo 2 >f");
    expect(spaced.argv).toEqual(["echo", "2"]);
    expect(spaced.redirectTargets).toEqual(["f"]);
  });

  test("substitutions are reported, also inside double quotes", () => {
    const cases: [string, string[]][] = [
      ["echo $(id)", ["$(id)"]],
      ["echo `id`", ["`id`"]],
      ['echo "$(rm x)"', ["$(rm x)"]],
      ['echo "`rm x`"', ["`rm x`"]],
      ["echo $HOME", ["$HOME"]],
      ["echo ${HOME}", ["${HOME}"]],
      ['echo "${x:-$(id)}"', ["${x:-$(id)}"]],
      ["echo $((1+2))", ["$((1+2))"]],
      ["echo $?", ["$?"]],
      ["echo $1", ["$1"]],
      ["echo $'\\x3b'", ["$'\\x3b'"]],
      ["echo $(echo ')')", ["$(echo ')')"]],
      ["echo $(a $(b))", ["$(a $(b))"]],
    ];
    for (const [input, subs] of cases) {
      const r = parseShellWords(input);
      expect({ input, subs: r.substitutions, simple: r.simple }).toEqual({ input, subs, simple: false });
    }
    const p = parseShellWords("cat <(rm x)");
    expect(p.redirections).toEqual(["<("]);
    expect(p.substitutions).toEqual(["<(rm x)"]);
  });

  test("expansions, assignments and comments are reported", () => {
    expect(parseShellWords("ls *.log").expansions).toEqual(["glob"]);
    expect(parseShellWords("ls file?").expansions).toEqual(["glob"]);
    expect(parseShellWords("ls [ab]").expansions).toEqual(["glob"]);
    expect(parseShellWords("{rm,-rf,/tmp/x}").expansions).toEqual(["brace"]);
    expect(parseShellWords("echo {1..3}").expansions).toEqual(["brace"]);
    expect(parseShellWords("cat ~/x").expansions).toEqual(["tilde"]);
    const a = parseShellWords("PATH=/tmp ls");
    expect(a.assignments).toEqual(["PATH=/tmp"]);
    expect(a.simple).toBe(false);
    expect(parseShellWords("ls PATH=/tmp").assignments).toEqual([]);
    const c = parseShellWords("ls # ; rm x");
    expect(c.comment).toBe(true);
    expect(c.simple).toBe(false);
    expect(c.argv).toEqual(["ls"]);
  });

  test("unterminated constructs are errors, never simple", () => {
    for (const input of ["echo 'a", 'echo "a', "echo `a", "echo $(a", "echo ${a", "cat <(a", "echo $'a"]) {
      const r = parseShellWords(input);
      expect({ input, simple: r.simple, error: r.error !== null }).toEqual({
        input,
        simple: false,
        error: true,
      });
    }
  });
});
