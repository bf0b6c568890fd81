# Builders for test inputs: a statement with every classifier field, and an input around statements.
package custos_test

stmt(overrides) := object.union(
	{
		"kind": "select", "node": "SelectStmt", "tables_read": [], "tables_written": [], "columns": [],
		"functions": [], "has_where": false, "is_dynamic": false, "copy_program": false, "copy_file": false,
		"dml": [], "expression_columns": [], "filter_columns": [], "row_references": [],
		"renamed_columns": [], "setting": null, "locks": [], "transaction": null, "fingerprint": "0", "table_labels": {},
	},
	overrides,
)

with_statements(kind, statements) := {
	"identity": {"subject": "s", "issuer": "i", "groups": [], "kind": kind},
	"connection": {"name": "db", "type": "postgres", "labels": [], "approvers": []},
	"session": {"id": "1", "client_addr": "127.0.0.1", "started_at": "", "application_name": ""},
	"command": {"protocol": "postgres", "text": "", "statements": statements},
	"time": {"rfc3339": "", "unix_ms": 0, "weekday": 1, "hour": 12},
}

agent_input(s) := with_statements("agent", [s])

human_input(s) := with_statements("human", [s])
