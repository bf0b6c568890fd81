// A CycloneDX 1.6 SBOM of what the executable carries: the Bun runtime and the npm packages reachable from
// package.json's runtime dependencies, read from bun.lock (names, versions, registry integrity hashes).
// Development dependencies are not in the binary, so they are not in the SBOM.
import { readFileSync } from "node:fs";
import { join } from "node:path";

type LockEntry = [
  string,
  string,
  { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> }?,
  string?,
];

interface Lockfile {
  workspaces: Record<string, { dependencies?: Record<string, string> }>;
  packages: Record<string, LockEntry>;
}

/** bun.lock is JSON with trailing commas. */
export function readLockfile(root: string): Lockfile {
  const text = readFileSync(join(root, "bun.lock"), "utf8");
  return JSON.parse(text.replace(/,(\s*[}\]])/g, "$1")) as Lockfile;
}

function purl(name: string, version: string): string {
  return `pkg:npm/${name.startsWith("@") ? `%40${name.slice(1)}` : name}@${version}`;
}

/** Resolves `dep` as seen from lock key `from` (bun.lock nests conflicting versions as "parent/dep"). */
function resolveKey(packages: Lockfile["packages"], from: string, dep: string): string | null {
  const parts = from ? from.split("/") : [];
  for (let i = parts.length; i >= 0; i--) {
    const key = [...parts.slice(0, i), dep].join("/");
    if (packages[key]) return key;
  }
  return null;
}

export function cycloneDxFromLockfile(
  root: string,
  stamp: { version: string; commit: string; date: string },
) {
  const lock = readLockfile(root);
  const seen = new Set<string>();
  const queue = Object.keys(lock.workspaces[""]?.dependencies ?? {}).map((d) =>
    resolveKey(lock.packages, "", d),
  );
  while (queue.length) {
    const key = queue.pop();
    if (!key || seen.has(key)) continue;
    seen.add(key);
    const meta = lock.packages[key]?.[2] ?? {};
    for (const dep of Object.keys({ ...meta.dependencies, ...meta.optionalDependencies })) {
      queue.push(resolveKey(lock.packages, key, dep));
    }
  }
  const bun =
    (readFileSync(join(root, "scripts/lib/bun.sh"), "utf8").match(/BUN_VERSION=(\S+)/) ?? [])[1] ??
    Bun.version;
  const components = [...seen].sort().map((key) => {
    const [id, , , integrity] = lock.packages[key]!;
    const at = id.lastIndexOf("@");
    const name = id.slice(0, at);
    const version = id.slice(at + 1);
    const hashes = integrity?.startsWith("sha512-")
      ? [{ alg: "SHA-512", content: Buffer.from(integrity.slice(7), "base64").toString("hex") }]
      : [];
    return {
      type: "library",
      "bom-ref": purl(name, version),
      name,
      version,
      purl: purl(name, version),
      hashes,
    };
  });
  return {
    bomFormat: "CycloneDX",
    specVersion: "1.6",
    version: 1,
    metadata: {
      timestamp: stamp.date,
      tools: { components: [{ type: "application", name: "custos scripts/build-binary" }] },
      component: {
        type: "application",
        "bom-ref": "custos",
        name: "custos",
        version: stamp.version,
        properties: [{ name: "custos:commit", value: stamp.commit }],
      },
    },
    components: [
      {
        type: "platform",
        "bom-ref": `pkg:generic/bun@${bun}`,
        name: "bun",
        version: bun,
        purl: `pkg:generic/bun@${bun}`,
      },
      ...components,
    ],
  };
}
