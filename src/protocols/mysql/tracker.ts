// Prepared statements the server holds for this session (ENFORCEMENT rule 2): an id exists here only
// once the server's COM_STMT_PREPARE_OK named it for a text the gateway decided; COM_STMT_CLOSE and
// COM_RESET_CONNECTION remove ids. An execution of an id not here is refused, so a reused or guessed id
// never runs a statement the gateway did not decide.
import type { Command } from "../../core/command.ts";
import type { ColumnDef } from "./result-set.ts";

export interface TrackedStatement {
  command: Command;
  params: number;
  /** Column definitions from the prepare (the execute's result repeats them). */
  columns: ColumnDef[];
  /** Parameters sent with COM_STMT_SEND_LONG_DATA since the last execute (their bytes join the binding). */
  longData: Uint8Array[];
}

/** Bound on statements one session may hold (MySQL's own default max_prepared_stmt_count is 16382). */
export const MAX_STATEMENTS = 1024;

export class StatementTracker {
  private readonly statements = new Map<number, TrackedStatement>();

  get size(): number {
    return this.statements.size;
  }

  prepared(id: number, statement: TrackedStatement): void {
    this.statements.set(id, statement);
  }

  get(id: number): TrackedStatement | undefined {
    return this.statements.get(id);
  }

  closed(id: number): void {
    this.statements.delete(id);
  }

  /** COM_RESET_CONNECTION and COM_CHANGE_USER drop every statement on the server. */
  clear(): void {
    this.statements.clear();
  }
}
