package custos_test

import data.custos

decide(i) := d if {
	d := custos.decision with input as i
}

test_agent_may_read if {
	d := decide(agent_input(stmt({"tables_read": ["public.t"]})))
	d.action == "allow"
	d.rule == "custos.agent_read"
	d.record == "buffered"
}

test_agent_ddl_denied if {
	every k in ["create", "alter", "drop", "truncate"] {
		decide(agent_input(stmt({"kind": k, "node": "X"}))).rule == "custos.agent_ddl"
	}
}

test_agent_grant_revoke_denied if {
	every k in ["grant", "revoke"] {
		decide(agent_input(stmt({"kind": k, "node": "GrantStmt"}))).rule == "custos.agent_privilege"
	}
}

test_agent_role_change_denied if {
	every setting in ["role", "session_authorization"] {
		decide(agent_input(stmt({"kind": "set", "node": "VariableSetStmt", "setting": setting}))).rule == "custos.agent_role_change"
	}
}

test_agent_set_config_denied if {
	decide(agent_input(stmt({"functions": ["pg_catalog.set_config"]}))).rule == "custos.agent_role_change"
}

test_agent_copy_program_denied if {
	decide(agent_input(stmt({"kind": "copy", "node": "CopyStmt", "copy_program": true}))).rule == "custos.agent_copy_program"
}

test_agent_copy_file_denied if {
	decide(agent_input(stmt({"kind": "copy", "node": "CopyStmt", "copy_file": true}))).rule == "custos.agent_server_file"
}

test_agent_copy_to_stdout_allowed if {
	decide(agent_input(stmt({"kind": "copy", "node": "CopyStmt", "tables_read": ["public.t"]}))).action == "allow"
}

test_agent_dynamic_denied if {
	decide(agent_input(stmt({"kind": "do", "node": "DoStmt", "is_dynamic": true}))).rule == "custos.agent_dynamic_sql"
}

test_agent_server_functions_denied if {
	every f in ["pg_read_file", "pg_catalog.pg_ls_dir", "lo_import", "lo_export", "dblink_exec", "pg_stat_file"] {
		decide(agent_input(stmt({"functions": [f]}))).rule == "custos.agent_server_function"
	}
}

test_agent_write_denied if {
	decide(agent_input(stmt({"kind": "insert", "node": "InsertStmt", "tables_written": ["public.t"], "dml": ["insert"]}))).rule == "custos.agent_write"
}

test_agent_cte_write_denied if {
	d := decide(agent_input(stmt({"tables_written": ["public.t"], "dml": ["insert"]})))
	d.rule == "custos.agent_write"
}

test_agent_setting_denied if {
	decide(agent_input(stmt({"kind": "set", "node": "VariableSetStmt", "setting": "search_path"}))).rule == "custos.agent_setting"
}

test_agent_allowed_setting if {
	decide(agent_input(stmt({"kind": "set", "node": "VariableSetStmt", "setting": "lock_timeout"}))).action == "allow"
}

test_agent_unknown_statement_denied if {
	decide(agent_input(stmt({"kind": "other", "node": "LoadStmt"}))).rule == "custos.agent_read_only"
}

test_agent_show_allowed if {
	decide(agent_input(stmt({"kind": "other", "node": "VariableShowStmt", "setting": "search_path"}))).action == "allow"
}

test_agent_unclassified_denied if {
	i := json.remove(agent_input(stmt({})), ["command/statements"])
	decide(i).rule == "custos.agent_unclassified"
}

test_agent_any_statement_denies_all if {
	d := decide(with_statements("agent", [stmt({}), stmt({"kind": "drop", "node": "DropStmt"})]))
	d.action == "deny"
	d.rule == "custos.agent_ddl"
}

test_human_may_run_ddl if {
	d := decide(human_input(stmt({"kind": "drop", "node": "DropStmt", "tables_written": ["public.t"]})))
	d.action == "allow"
	d.rule == "custos.allow"
	d.record == "sync"
}

test_no_identity_denied if {
	d := decide({})
	d.rule == "custos.default_deny"
}
