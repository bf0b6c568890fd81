# MySQL and MariaDB: the default pack's rules apply to both SQL dialects alike (the classifier hands both the
# same statement shape); these add what only MySQL needs. Functions: MySQL has no catalog volatility the
# gateway reads, so agents may call only the functions on data.custos.lists.mysql.agent_functions (a vetted
# list of functions that read and compute; SLEEP, BENCHMARK, GET_LOCK, LOAD_FILE and anything unknown are
# refused). KILL is routed by the gateway itself for the client's own sessions; any other KILL text reaching
# the policy would act on the server's thread ids, which name other people's sessions, so it is refused.
package custos

mysql if input.command.protocol == "mysql"

agent_denials contains {"rule": "custos.agent_unlisted_function", "reason": sprintf("agents may not call %s: it is not on the vetted list of MySQL functions", [f])} if {
	agent
	mysql
	some s in statements
	some f in s.functions
	not lower(base_name(f)) in data.custos.lists.mysql.agent_functions
	not server_function(lower(base_name(f)))
	not side_effect_function(lower(base_name(f)))
}

everyone_denials contains {"rule": "custos.mysql_kill", "reason": "KILL names server threads: the gateway routes KILL [QUERY] <id> only for the ids it gave your own connections"} if {
	mysql
	some s in statements
	s.node == "MysqlKill"
}
