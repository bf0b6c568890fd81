package custos_test

mysql_input(kind, s) := object.union(with_statements(kind, [s]), {"command": {"protocol": "mysql"}, "connection": {"type": "mysql"}})

test_mysql_agent_vetted_function_allowed if {
	decide(mysql_input("agent", stmt({"functions": ["upper", "count", "date_format"]}))).action == "allow"
}

test_mysql_agent_unlisted_function_denied if {
	every f in ["sleep", "benchmark", "get_lock"] {
		decide(mysql_input("agent", stmt({"functions": [f]}))).action == "deny"
	}
	decide(mysql_input("agent", stmt({"functions": ["my_udf"]}))).rule == "custos.agent_unlisted_function"
	decide(mysql_input("agent", stmt({"functions": ["load_file"]}))).rule == "custos.agent_server_function"
	decide(mysql_input("agent", stmt({"functions": ["sleep"]}))).rule == "custos.agent_side_effect"
}

test_mysql_human_may_call_functions if {
	decide(mysql_input("human", stmt({"functions": ["my_udf"]}))).action == "allow"
}

test_postgres_agent_not_bound_by_mysql_list if {
	decide(agent_input(stmt({"functions": ["my_udf"]}))).action == "allow"
}

test_mysql_kill_refused_for_everyone if {
	decide(mysql_input("human", stmt({"kind": "other", "node": "MysqlKill"}))).rule == "custos.mysql_kill"
	decide(mysql_input("agent", stmt({"kind": "other", "node": "MysqlKill"}))).action == "deny"
}

test_mysql_agent_show_allowed_processlist_not if {
	decide(mysql_input("agent", stmt({"kind": "other", "node": "MysqlShow"}))).action == "allow"
	decide(mysql_input("agent", stmt({"kind": "other", "node": "MysqlShowOther"}))).action == "deny"
	decide(mysql_input("agent", stmt({"tables_read": ["information_schema.processlist"]}))).rule == "custos.agent_statistics"
}

test_mysql_agent_user_variable_denied if {
	decide(mysql_input("agent", stmt({"kind": "set", "node": "VariableSetStmt", "setting": "user_variable"}))).rule == "custos.agent_setting"
	decide(mysql_input("agent", stmt({"kind": "set", "node": "VariableSetStmt", "setting": "names"}))).action == "allow"
}
