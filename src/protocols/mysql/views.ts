// Statements over views, for masked identities: MySQL's column definitions name the view's own column,
// not the column it reads, so such a statement cannot be resolved to its sources (ENFORCEMENT rule 3) and
// is marked unresolved (the policy refuses it for masked identities).
import type { CatalogResolution, ResolvedStatement } from "../../core/command.ts";
import { createMysqlClassifier } from "../../sql/mysql-classifier.ts";

/** The same classifier the decider uses, for what the statements read (cached by text: a lookup when repeated). */
const classifier = createMysqlClassifier();

/** Undefined when no view is read. */
export function viewResolution(text: string, views: ReadonlySet<string>): CatalogResolution | undefined {
  if (views.size === 0) return undefined;
  const statements = classifier.classify(text).statements;
  let any = false;
  const out: ResolvedStatement[] = statements.map((s) => {
    const view = s.tables_read.find((t) => views.has(t));
    if (!view) return { status: "not_applicable", uses: [], functions: [] };
    any = true;
    return {
      status: "unresolved",
      reason: `it reads the view ${view}, whose columns MySQL does not resolve to their sources`,
      uses: [],
      functions: [],
    };
  });
  return any ? { statements: out } : undefined;
}
