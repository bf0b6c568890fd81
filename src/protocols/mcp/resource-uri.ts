// Upstream resources and prompts under names that say which connection serves them, so one endpoint can
// offer several upstreams: a resource (or template) `u` of connection `c` is `custos://c/u` (the upstream's
// URI verbatim after the first slash, so a template's `{var}` still expands), a prompt `p` is `c__p` like a
// tool. Pure; a name that does not parse maps to nothing.
const SCHEME = "custos://";
const CONNECTION = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$/;

export function frontUri(connection: string, uri: string): string {
  return `${SCHEME}${connection}/${uri}`;
}

export function parseFrontUri(uri: string): { connection: string; uri: string } | null {
  if (!uri.startsWith(SCHEME)) return null;
  const rest = uri.slice(SCHEME.length);
  const slash = rest.indexOf("/");
  if (slash <= 0) return null;
  const connection = rest.slice(0, slash);
  const upstream = rest.slice(slash + 1);
  if (!CONNECTION.test(connection) || upstream.length === 0) return null;
  return { connection, uri: upstream };
}
