// What the policy decider needs to decide MySQL/MariaDB commands: the dialect's classifier and the hint
// its syntax refusals carry. Kept here so the composition root adds the dialect with one line.
import { createMysqlClassifier } from "./mysql-classifier.ts";
import type { SqlClassification } from "./types.ts";

export const MYSQL_PARSER_HINT =
  "The gateway's MySQL/MariaDB grammar (node-sql-parser) rejected this statement before it reached the server; nothing ran. If the server accepts it, the gateway's grammar lags the server's: report it.";

export function mysqlDecider(): {
  classifiers: Record<string, (text: string) => SqlClassification>;
  parserHints: Record<string, string>;
} {
  const classifier = createMysqlClassifier();
  return {
    classifiers: { mysql: (text) => classifier.classify(text) },
    parserHints: { mysql: MYSQL_PARSER_HINT },
  };
}
