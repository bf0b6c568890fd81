// The gateway instance's log id: created once per data_dir, so a restart continues the same audit log and
// several gateways sharing one PostgreSQL store each keep their own.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export function instanceId(dataDir: string): string {
  const path = join(dataDir, "instance-id");
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const id = `gw-${Bun.randomUUIDv7()}`;
    writeFileSync(path, `${id}\n`, { flag: "wx" });
    return id;
  }
}
