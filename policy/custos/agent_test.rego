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

test_agent_locking_clause_denied if {
	every l in ["update", "no key update", "share", "key share"] {
		d := decide(agent_input(stmt({"tables_read": ["public.t"], "locks": [l]})))
		d.rule == "custos.agent_locking"
	}
	decide(human_input(stmt({"tables_read": ["public.t"], "locks": ["update"]}))).action == "allow"
}

test_agent_two_phase_commit_denied if {
	every t in ["prepare", "commit_prepared", "rollback_prepared"] {
		d := decide(agent_input(stmt({"kind": "transaction", "node": "TransactionStmt", "transaction": t})))
		d.rule == "custos.agent_two_phase"
	}
	every t in ["begin", "commit", "rollback", "savepoint"] {
		decide(agent_input(stmt({"kind": "transaction", "node": "TransactionStmt", "transaction": t}))).action == "allow"
	}
}

test_agent_statistics_views_denied if {
	every t in ["pg_catalog.pg_stats", "pg_catalog.pg_stat_activity", "public.pg_stat_statements", "pg_catalog.pg_statistic", "pg_catalog.pg_stats_ext", "pg_catalog.pg_statistic_ext_data"] {
		decide(agent_input(stmt({"tables_read": [t]}))).rule == "custos.agent_statistics"
	}
	decide(agent_input(stmt({"functions": ["pg_stat_get_activity"]}))).rule == "custos.agent_statistics"
	decide(agent_input(stmt({"tables_read": ["pg_catalog.pg_class", "pg_catalog.pg_stat_user_tables", "pg_catalog.pg_statistic_ext"]}))).action == "allow"
	decide(human_input(stmt({"tables_read": ["pg_catalog.pg_stat_activity"]}))).action == "allow"
}

test_agent_listen_denied_unless_allowed if {
	listen := agent_input(stmt({"kind": "other", "node": "ListenStmt"}))
	decide(listen).rule == "custos.agent_listen"
	d := custos.decision with input as listen with data.custos.lists.agent.allow_listen as true
	d.action == "allow"
	decide(agent_input(stmt({"kind": "other", "node": "UnlistenStmt"}))).action == "allow"
	decide(human_input(stmt({"kind": "other", "node": "ListenStmt"}))).action == "allow"
}

test_agent_side_effect_functions_denied if {
	every f in ["setval", "nextval", "pg_catalog.pg_advisory_lock", "pg_try_advisory_xact_lock_shared", "pg_sleep", "pg_notify", "txid_current", "pg_stat_reset", "pg_stat_reset_single_table_counters"] {
		decide(agent_input(stmt({"functions": [f]}))).rule == "custos.agent_side_effect"
	}
	every f in ["currval", "now", "txid_current_snapshot", "lower"] {
		decide(agent_input(stmt({"functions": [f]}))).action == "allow"
	}
}

test_agent_may_not_disable_idle_transaction_timeout if {
	d := decide(agent_input(stmt({"kind": "set", "node": "VariableSetStmt", "setting": "idle_in_transaction_session_timeout"})))
	d.rule == "custos.agent_setting"
}

approvers_input(s) := object.union(agent_input(s), {"connection": {"name": "db", "type": "postgres", "labels": [], "approvers": ["dba-leads"]}})

insert_stmt := stmt({"kind": "insert", "node": "InsertStmt", "tables_written": ["public.t"], "dml": ["insert"]})

test_agent_bounded_writes_reviewed_where_connection_has_approvers if {
	every s in [
		insert_stmt,
		stmt({"kind": "update", "node": "UpdateStmt", "tables_written": ["public.t"], "dml": ["update"], "has_where": true}),
		stmt({"kind": "delete", "node": "DeleteStmt", "tables_written": ["public.t"], "dml": ["delete"], "has_where": true}),
	] {
		d := decide(approvers_input(s))
		d.action == "review"
		d.rule == "custos.agent_write_review"
		d.record == "sync"
	}
}

test_agent_writes_still_denied_without_approvers if {
	d := decide(agent_input(insert_stmt))
	d.action == "deny"
	d.rule == "custos.agent_write"
}

test_agent_unbounded_and_destructive_writes_denied_with_approvers if {
	every c in [
		[stmt({"kind": "update", "node": "UpdateStmt", "tables_written": ["public.t"], "dml": ["update"], "has_where": false}), "custos.unbounded_write"],
		[stmt({"kind": "delete", "node": "DeleteStmt", "tables_written": ["public.t"], "dml": ["delete"], "has_where": false}), "custos.unbounded_write"],
		[stmt({"kind": "truncate", "node": "TruncateStmt", "tables_written": ["public.t"]}), "custos.agent_ddl"],
		[stmt({"kind": "drop", "node": "DropStmt"}), "custos.agent_ddl"],
		# Writes an approver cannot judge from one statement's text stay refused.
		[stmt({"kind": "select", "node": "SelectStmt", "tables_written": ["public.t"], "dml": ["delete"], "has_where": true}), "custos.agent_write"],
		[stmt({"kind": "insert", "node": "InsertStmt", "tables_written": ["public.t", "public.u"], "dml": ["insert", "delete"], "has_where": true}), "custos.agent_write"],
		[stmt({"kind": "merge", "node": "MergeStmt", "tables_written": ["public.t"], "dml": ["merge"]}), "custos.agent_write"],
		[stmt({"kind": "insert", "node": "ExplainStmt", "tables_written": ["public.t"], "dml": ["insert"]}), "custos.agent_write"],
		[stmt({"kind": "insert", "node": "InsertStmt", "tables_written": ["public.t"], "dml": ["insert"], "functions": ["nextval"]}), "custos.agent_side_effect"],
	] {
		d := decide(approvers_input(c[0]))
		d.action == "deny"
		d.rule == c[1]
	}
}
