// Every console page names its JSX runtime (hono/jsx) in the file: run from another directory (serve, demo,
// the single executable), Bun does not find the project's tsconfig and falls back to React's runtime,
// which is not installed ("Cannot find module 'react/jsx-dev-runtime'").
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "../..");

test("every .tsx file under src/ names hono/jsx as its JSX runtime", () => {
  const files = [...new Bun.Glob("src/**/*.tsx").scanSync(root)];
  expect(files.length).toBeGreaterThan(5);
  const missing = files.filter(
    (f) => !readFileSync(join(root, f), "utf8").includes("@jsxImportSource hono/jsx"),
  );
  expect(missing).toEqual([]);
});
