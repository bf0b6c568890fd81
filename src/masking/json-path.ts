// The JSON path subset mask rules use: `$`, `.name`, `['name']` / `["name"]`, `[n]`, `[*]`, `.*` and
// recursive descent `..name`. Parsed once per rule; matching walks the parsed JSON value.

export type Segment =
  | { kind: "name"; name: string; deep: boolean }
  | { kind: "index"; index: number }
  | { kind: "any"; deep: boolean };

/** Parses `$.customers[*].ssn`; returns an error message for anything outside the subset. */
export function parsePath(text: string): Segment[] | string {
  if (!text.startsWith("$")) return "a JSON path starts with $";
  const out: Segment[] = [];
  let i = 1;
  while (i < text.length) {
    const c = text[i];
    if (c === ".") {
      const deep = text[i + 1] === ".";
      i += deep ? 2 : 1;
      if (text[i] === "*") {
        out.push({ kind: "any", deep });
        i++;
        continue;
      }
      const m = /^[A-Za-z_$][\w$-]*/.exec(text.slice(i));
      if (!m) return `expected a name at position ${i}`;
      out.push({ kind: "name", name: m[0], deep });
      i += m[0].length;
    } else if (c === "[") {
      const rest = text.slice(i);
      const m = /^\[(?:\*|(\d+)|'([^']*)'|"([^"]*)")\]/.exec(rest);
      if (!m) return `expected [*], [n] or ['name'] at position ${i}`;
      if (m[1] !== undefined) out.push({ kind: "index", index: Number(m[1]) });
      else if (m[2] !== undefined || m[3] !== undefined)
        out.push({ kind: "name", name: (m[2] ?? m[3])!, deep: false });
      else out.push({ kind: "any", deep: false });
      i += m[0].length;
    } else return `unexpected ${JSON.stringify(c)} at position ${i}`;
  }
  return out;
}

type Container = Record<string, unknown> | unknown[];

/** Calls `visit(container, key)` for every location the path selects in `root`. `$` alone selects nothing. */
export function selectPath(
  root: unknown,
  path: readonly Segment[],
  visit: (parent: Container, key: string | number) => void,
): void {
  const step = (value: unknown, at: number, parent: Container | null, key: string | number | null): void => {
    if (at === path.length) {
      if (parent !== null && key !== null) visit(parent, key);
      return;
    }
    const seg = path[at]!;
    if (seg.kind === "index") {
      if (Array.isArray(value) && seg.index < value.length) step(value[seg.index], at + 1, value, seg.index);
      return;
    }
    if ((seg.kind === "name" || seg.kind === "any") && seg.deep) {
      // `..x`: x at this level or anywhere below.
      const descend = (v: unknown): void => {
        if (Array.isArray(v)) for (let i = 0; i < v.length; i++) matchHere(v, i, v[i]);
        else if (v !== null && typeof v === "object")
          for (const [k, item] of Object.entries(v)) matchHere(v as Container, k, item);
      };
      const matchHere = (p: Container, k: string | number, item: unknown): void => {
        if (seg.kind === "any" || k === seg.name) step(item, at + 1, p, k);
        descend(item);
      };
      descend(value);
      return;
    }
    if (seg.kind === "any") {
      if (Array.isArray(value)) for (let i = 0; i < value.length; i++) step(value[i], at + 1, value, i);
      else if (value !== null && typeof value === "object")
        for (const [k, item] of Object.entries(value)) step(item, at + 1, value as Container, k);
      return;
    }
    if (
      value !== null &&
      typeof value === "object" &&
      !Array.isArray(value) &&
      Object.hasOwn(value, seg.name)
    ) {
      step((value as Record<string, unknown>)[seg.name], at + 1, value as Container, seg.name);
    }
  };
  step(root, 0, null, null);
}
