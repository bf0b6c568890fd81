// One Kubernetes API request as the policy sees it (merged into `input.command` from Command.details):
// the API server's own reading of it (request-info.ts) plus what writes carry. Pure.
import type { RequestInfo } from "./request-info.ts";

/** How the request continues after its headers: a plain exchange, or an upgraded stream. */
export type UpgradeKind = "websocket" | "spdy";

export interface KubeRequestDetails {
  /** The API server's verb: get list watch create update patch delete deletecollection proxy, or for
   *  non-resource paths the lower-case HTTP method. */
  verb: string;
  method: string;
  /** The canonical path forwarded (below the connection's prefix). */
  path: string;
  resource_request: boolean;
  /** "" is the core group. */
  group: string;
  version: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  field_selector: string;
  label_selector: string;
  /** `dryRun=All`: the API server validates and admits without persisting. */
  dry_run: boolean;
  /** The query as Go reads it (repeats kept: exec's `command`, port-forward's `ports`). */
  params: Record<string, string[]>;
  /** create/update/patch: the JSON object or patch, when within the bound. */
  object?: unknown;
  /** Why `object` is absent although the request has a body: too_large, invalid_json. */
  object_skipped?: string;
  /** The body's media type without parameters (patch kind: merge, strategic, json-patch, apply). */
  content_type?: string;
  /** exec/attach/port-forward: how the stream is upgraded, and the subprotocols the client offered. */
  upgrade?: UpgradeKind;
  stream_protocols?: string[];
}

export function requestDetails(
  method: string,
  info: RequestInfo,
  query: ReadonlyMap<string, readonly string[]>,
): KubeRequestDetails {
  const params: Record<string, string[]> = {};
  for (const [k, v] of query) params[k] = [...v];
  return {
    verb: info.verb,
    method,
    path: info.path,
    resource_request: info.isResourceRequest,
    group: info.apiGroup,
    version: info.apiVersion,
    resource: info.resource,
    subresource: info.subresource,
    namespace: info.namespace,
    name: info.name,
    field_selector: info.fieldSelector,
    label_selector: info.labelSelector,
    // The API server accepts only "All" for each value (apiserver handlers: dryRun validation), so a
    // request is a dry run exactly when it names dryRun and every value is All; others fail with 400.
    dry_run: isDryRun(query.get("dryRun")),
    params,
  };
}

function isDryRun(values: readonly string[] | undefined): boolean {
  return values !== undefined && values.length > 0 && values.every((v) => v === "All");
}

/** The text recorded and shown for the command: `get pods -n default` style, from the resolved request. */
export function commandText(d: KubeRequestDetails): string {
  if (!d.resource_request) return `${d.method} ${d.path}`;
  const what = [d.group ? `${d.resource}.${d.group}` : d.resource, d.name, d.subresource]
    .filter(Boolean)
    .join("/");
  return `${d.verb} ${what}${d.namespace ? ` -n ${d.namespace}` : ""}${streamSuffix(d)}`;
}

/**
 * What a stream runs, for the text approvers read and the approval binds: exec's container and argv (as
 * JSON, so spaces and quotes stay unambiguous), attach's container, port-forward's ports.
 */
function streamSuffix(d: KubeRequestDetails): string {
  const p = d.params;
  const container = p.container?.[0] ? ` -c ${p.container[0]}` : "";
  if (d.subresource === "exec") return `${container} -- ${JSON.stringify(p.command ?? [])}`;
  if (d.subresource === "attach") return container;
  if (d.subresource === "portforward" && p.ports) return ` ports=${p.ports.join(",")}`;
  return "";
}

/**
 * The decision cache key: everything the policy input holds about the request. Long ones (objects, exec
 * commands) are digested with SHA-256, never a fast hash: a crafted collision would reuse an allow.
 */
export function shapeOf(d: KubeRequestDetails): string {
  const s = JSON.stringify(d);
  return s.length <= 512 ? s : `sha256:${new Bun.CryptoHasher("sha256").update(s).digest("hex")}`;
}
