package custos_test

import data.custos

test_unbounded_delete_denied_for_everyone if {
	every kind in ["human", "service", "agent"] {
		d := custos.decision with input as with_statements(kind, [stmt({"kind": "delete", "node": "DeleteStmt", "dml": ["delete"], "tables_written": ["public.t"]})])
		d.action == "deny"
		d.rule in {"custos.unbounded_write", "custos.agent_write"}
	}
	d := custos.decision with input as human_input(stmt({"kind": "update", "node": "UpdateStmt", "dml": ["update"], "tables_written": ["public.t"]}))
	d.rule == "custos.unbounded_write"
}

test_bounded_update_allowed_for_humans if {
	d := custos.decision with input as human_input(stmt({"kind": "update", "node": "UpdateStmt", "dml": ["update"], "tables_written": ["public.t"], "has_where": true}))
	d.action == "allow"
	d.record == "sync"
}

test_cte_unbounded_delete_denied if {
	d := custos.decision with input as human_input(stmt({"dml": ["delete"], "tables_written": ["public.t"], "has_where": false}))
	d.rule == "custos.unbounded_write"
}

test_regulated_connection_write_reviewed if {
	i := json.patch(human_input(stmt({"kind": "insert", "node": "InsertStmt", "dml": ["insert"], "tables_written": ["public.t"]})), [{"op": "replace", "path": "/connection/labels", "value": ["regulated"]}])
	d := custos.decision with input as i
	d.action == "review"
	d.rule == "custos.regulated_write"
	d.record == "sync"
}

test_regulated_table_write_reviewed if {
	s := stmt({"kind": "update", "node": "UpdateStmt", "dml": ["update"], "has_where": true, "tables_written": ["public.accounts"], "table_labels": {"public.accounts": ["regulated"]}})
	d := custos.decision with input as human_input(s)
	d.action == "review"
	contains(d.reason, "public.accounts")
}

test_regulated_table_read_allowed if {
	s := stmt({"tables_read": ["public.accounts"], "table_labels": {"public.accounts": ["regulated"]}})
	d1 := custos.decision with input as human_input(s)
	d1.action == "allow"
}

# Values the parser does not assume are refused by the classifier for everyone (custos.parser_setting,
# src/sql/parser-settings.ts); what reaches the policy is the assumed value, a routine line of pg_dump.
test_parser_setting_at_assumed_value if {
	s := stmt({"kind": "set", "node": "VariableSetStmt", "setting": "standard_conforming_strings"})
	human := custos.decision with input as with_statements("human", [s])
	human.action == "allow"
	agent := custos.decision with input as with_statements("agent", [s])
	agent.rule == "custos.agent_setting"
}

test_reads_are_buffered_writes_sync if {
	d2 := custos.decision with input as human_input(stmt({}))
	d2.record == "buffered"
	d3 := custos.decision with input as human_input(stmt({"kind": "create", "node": "CreateStmt"}))
	d3.record == "sync"
	d4 := custos.decision with input as human_input(stmt({"is_dynamic": true}))
	d4.record == "sync"
}

with_approvers(i) := json.patch(i, [{"op": "add", "path": "/connection/approvers", "value": ["dba-leads"]}])

test_unbounded_write_by_human_reviewed_where_approvers if {
	every k in ["update", "delete"] {
		s := stmt({"kind": k, "node": "X", "dml": [k], "tables_written": ["public.t"]})
		d := custos.decision with input as with_approvers(human_input(s))
		d.action == "review"
		d.rule == "custos.unbounded_write"
		d.record == "sync"

		# no approvers: refused
		custos.decision.action == "deny" with input as human_input(s)

		# agents and services: refused even where approvers exist
		every kind in ["agent", "service"] {
			a := custos.decision with input as with_approvers(with_statements(kind, [s]))
			a.action == "deny"
		}
	}
}

test_unbounded_write_review_outranks_regulated_review if {
	s := stmt({"kind": "delete", "node": "DeleteStmt", "dml": ["delete"], "tables_written": ["public.t"]})
	i := json.patch(with_approvers(human_input(s)), [{"op": "replace", "path": "/connection/labels", "value": ["regulated"]}])
	d := custos.decision with input as i
	d.action == "review"
	d.rule == "custos.unbounded_write"
}
