import { expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "./load.ts";

const dir = mkdtempSync(join(tmpdir(), "custos-siem-config-"));
const load = (siem: unknown[], env: Record<string, string> = {}) =>
  parseConfig({ data_dir: dir, siem }, dir, env);
const problem = (siem: unknown[], env: Record<string, string> = {}) => {
  try {
    load(siem, env);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
};

test("sinks resolve with defaults, secrets from env or file, paths against the config", () => {
  writeFileSync(join(dir, "hec"), "tok\n");
  const c = load(
    [
      { type: "syslog", address: "siem.internal:6514" },
      {
        type: "http",
        url: "https://splunk.internal:8088/services/collector",
        shape: "splunk_hec",
        token_file: "hec",
      },
      { type: "http", url: "http://127.0.0.1:9/x", secret_env: "K", format: "native" },
      { type: "file", path: "siem/events.jsonl", max_size: "1MiB" },
    ],
    { K: "hmac" },
  );
  expect(c.siem.map((s) => s.name)).toEqual([
    "syslog:siem.internal:6514",
    "http:https://splunk.internal:8088/services/collector",
    "http:http://127.0.0.1:9/x",
    `file:${join(dir, "siem/events.jsonl")}`,
  ]);
  const [syslog, hec, json, file] = c.siem;
  expect(syslog).toMatchObject({ transport: "tls", format: "ocsf", host: "siem.internal", port: 6514 });
  expect(hec?.type === "http" && hec.token?.reveal()).toBe("tok");
  expect(json?.type === "http" && json.hmacKey?.reveal()).toBe("hmac");
  expect(JSON.stringify(c.siem)).not.toContain('hmac"');
  expect(file).toMatchObject({ maxSize: 2 ** 20, keep: 10 });
});

test("mistakes are named by key path", () => {
  expect(problem([{ type: "syslog", address: "nohost" }])).toContain("siem[0].address");
  expect(problem([{ type: "http", url: "http://collector.example.com/x" }])).toContain("siem[0].url");
  expect(problem([{ type: "http", url: "https://h/x", shape: "splunk_hec" }])).toContain(
    "splunk_hec needs token_env",
  );
  expect(problem([{ type: "http", url: "https://h/x", token_env: "NOPE" }])).toContain("NOPE is not set");
  expect(problem([{ type: "syslog", address: "h:1", transport: "tcp", ca_file: "x.pem" }])).toContain(
    "ca_file needs transport: tls",
  );
  expect(
    problem([
      { type: "file", path: "a" },
      { type: "file", path: "a" },
    ]),
  ).toContain("two sinks named");
  expect(problem([{ type: "file", path: "a", max_size: "10" }])).toContain("at least 1KiB");
  expect(problem([{ type: "kafka" }])).toContain("siem[0]");
});
