// Readers shared by the deploy/ checks: YAML documents, the Kubernetes manifests and the systemd unit,
// plus a temp tree standing in for the paths a config file names on a real host or pod.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";

export const ROOT = resolve(import.meta.dir, "../..");
export const DEPLOY = join(ROOT, "deploy");
export const K8S = join(DEPLOY, "kubernetes");

/** Every YAML file under deploy/, relative to the repository root. */
export function yamlFiles(dir = DEPLOY): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...yamlFiles(path));
    else if (/\.ya?ml$/.test(entry.name)) out.push(path.slice(ROOT.length + 1));
  }
  return out.sort();
}

/** Parses every document of a YAML file; throws on the first syntax error or duplicate key. */
export function readYamlDocs(relPath: string): unknown[] {
  const text = readFileSync(join(ROOT, relPath), "utf8");
  return parseAllDocuments(text, { uniqueKeys: true }).map((doc) => {
    if (doc.errors.length) throw new Error(`${relPath}: ${doc.errors[0]!.message}`);
    return doc.toJS();
  });
}

// biome-ignore lint/suspicious/noExplicitAny: manifests are free-form JSON walked by the checks.
export type Manifest = Record<string, any>;

/** The Kubernetes objects applied by kustomization.yaml, plus the optional ServiceMonitor. */
export function manifests(): { file: string; doc: Manifest }[] {
  const out: { file: string; doc: Manifest }[] = [];
  for (const file of yamlFiles(K8S)) {
    if (file.endsWith("kustomization.yaml")) continue;
    for (const doc of readYamlDocs(file)) if (doc) out.push({ file, doc: doc as Manifest });
  }
  return out;
}

export function findManifest(kind: string, name?: string): Manifest {
  const found = manifests().find((m) => m.doc.kind === kind && (!name || m.doc.metadata?.name === name));
  if (!found) throw new Error(`no ${kind}${name ? ` ${name}` : ""} in deploy/kubernetes`);
  return found.doc;
}

/** A systemd unit as section -> key -> values (a key may repeat; an empty assignment resets). */
export type Unit = Map<string, Map<string, string[]>>;

export function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | null = null;
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) return;
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header) {
      section = new Map();
      unit.set(header[1]!, section);
      return;
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!kv || !section) throw new Error(`line ${i + 1}: not a key=value inside a section: ${raw}`);
    const [, key, value] = kv as unknown as [string, string, string];
    if (value === "") section.set(key, [""]);
    else section.set(key, [...(section.get(key) ?? []).filter((v) => v !== ""), value]);
  });
  return unit;
}

/** A temp directory, and a writer that creates parent directories. */
export function scratch(prefix: string): {
  dir: string;
  write(rel: string, text: string, mode?: number): string;
} {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    write(rel, text, mode = 0o600) {
      const path = join(dir, rel);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
      chmodSync(path, mode);
      return path;
    },
  };
}

/** A real self-signed certificate and key (PEM), for ca_file and tls files. */
export async function certificate(cn: string): Promise<{ cert: string; key: string }> {
  const { generate } = await import("selfsigned");
  const pems = await generate([{ name: "commonName", value: cn }], { keyType: "ec", curve: "P-256" });
  return { cert: pems.cert, key: pems.private };
}
