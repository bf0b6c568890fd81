# Identities of kind agent may read; anything else they send is refused with the most precise reason.
package custos

agent if input.identity.kind == "agent"

agent_denials contains {"rule": "custos.agent_unclassified", "reason": "agents may only send classified SQL"} if {
	agent
	not classified
}

agent_denials contains {"rule": "custos.agent_ddl", "reason": sprintf("agents may not run DDL (%s)", [s.kind])} if {
	agent
	some s in statements
	s.kind in data.custos.lists.agent.ddl_kinds
}

agent_denials contains {"rule": "custos.agent_privilege", "reason": sprintf("agents may not %s privileges", [s.kind])} if {
	agent
	some s in statements
	s.kind in data.custos.lists.agent.privilege_kinds
}

agent_denials contains {"rule": "custos.agent_role_change", "reason": "agents may not change role or session authorization"} if {
	agent
	some s in statements
	s.setting in data.custos.lists.agent.role_settings
}

agent_denials contains {"rule": "custos.agent_role_change", "reason": sprintf("agents may not call %s (it can change the role or search_path)", [f])} if {
	agent
	some s in statements
	some f in s.functions
	base_name(f) in data.custos.lists.agent.role_functions
}

agent_denials contains {"rule": "custos.agent_copy_program", "reason": "agents may not run COPY ... PROGRAM"} if {
	agent
	some s in statements
	s.copy_program
}

agent_denials contains {"rule": "custos.agent_server_file", "reason": "agents may not COPY to or from server files"} if {
	agent
	some s in statements
	s.copy_file
}

agent_denials contains {"rule": "custos.agent_dynamic_sql", "reason": sprintf("agents may not run dynamic SQL (%s)", [s.node])} if {
	agent
	some s in statements
	s.is_dynamic
}

agent_denials contains {"rule": "custos.agent_server_function", "reason": sprintf("agents may not call %s (server file system, network or administration)", [f])} if {
	agent
	some s in statements
	some f in s.functions
	server_function(base_name(f))
}

agent_denials contains {"rule": "custos.agent_write", "reason": agent_write_refusal} if {
	agent
	some s in statements
	mutating(s)
	not s.kind in data.custos.lists.agent.ddl_kinds
	not s.kind in data.custos.lists.agent.privilege_kinds
	not s.is_dynamic
	not agent_plain_write_with_approvers(s)
}

agent_write_refusal := "agents may only read (their INSERT, UPDATE and DELETE go to review where the connection has approvers)" if {
	not connection_has_approvers
} else := "agents may only send a plain INSERT, UPDATE or DELETE for review (no data-modifying CTE, MERGE, SELECT INTO or EXPLAIN ANALYZE)"

# An agent's bounded INSERT, UPDATE or DELETE goes to a human where the connection has approvers. An
# unbounded one is refused there by custos.unbounded_write (everyone_denials), and every denial wins over
# every review, so a side-effect function, a masked column computed into the row or DDL still refuses it.
agent_reviews contains {"rule": "custos.agent_write_review", "reason": sprintf("an agent's %s needs approval", [upper(s.kind)])} if {
	agent
	some s in statements
	agent_plain_write_with_approvers(s)
}

# The shapes an approver can judge from the text: one top-level INSERT/UPDATE/DELETE whose only
# data changes are its own kind (no CTE writing elsewhere), no dynamic SQL, no COPY.
agent_plain_write_with_approvers(s) if {
	connection_has_approvers
	s.kind in data.custos.lists.agent.reviewable_write_kinds
	s.node in data.custos.lists.agent.reviewable_write_nodes
	every k in s.dml {
		k == s.kind
	}
	not s.is_dynamic
	not s.copy_program
	not s.copy_file
}

agent_denials contains {"rule": "custos.agent_setting", "reason": sprintf("agents may not change the setting %s", [s.setting])} if {
	agent
	some s in statements
	s.kind == "set"
	not s.setting in data.custos.lists.agent.role_settings
	not s.setting in data.custos.lists.agent.settings
}

agent_denials contains {"rule": "custos.agent_side_effect", "reason": sprintf("agents may not call %s (it changes server state: sequences, locks, notifications, statistics, transaction ids, sleeps)", [f])} if {
	agent
	some s in statements
	some f in called_functions(s)
	side_effect_function(lower(base_name(f)))
}

agent_denials contains {"rule": "custos.agent_locking", "reason": sprintf("agents may not lock rows (FOR %s)", [upper(l)])} if {
	agent
	some s in statements
	some l in object.get(s, "locks", [])
}

agent_denials contains {"rule": "custos.agent_two_phase", "reason": sprintf("agents may not run %s (two-phase commit outlives the session)", [upper(replace(s.transaction, "_", " "))])} if {
	agent
	some s in statements
	s.transaction in data.custos.lists.agent.denied_transactions
}

agent_denials contains {"rule": "custos.agent_statistics", "reason": sprintf("agents may not read %s (it exposes column values or other sessions' SQL)", [t])} if {
	agent
	some s in statements
	some t in s.tables_read
	lower(base_name(t)) in data.custos.lists.agent.denied_relations
}

agent_denials contains {"rule": "custos.agent_statistics", "reason": sprintf("agents may not call %s (it exposes column values or other sessions' SQL)", [f])} if {
	agent
	some s in statements
	some f in called_functions(s)
	lower(base_name(f)) in data.custos.lists.agent.denied_relations
}

# LISTEN delivers other sessions' notification payloads, which no masking rule sees as columns.
agent_denials contains {"rule": "custos.agent_listen", "reason": "agents may not LISTEN (set lists.agent.allow_listen in the pack to allow it)"} if {
	agent
	not data.custos.lists.agent.allow_listen == true
	some s in statements
	s.node == "ListenStmt"
}

catch_all_denials contains {"rule": "custos.agent_read_only", "reason": sprintf("agents may only read (%s)", [s.node])} if {
	agent
	some s in statements
	not agent_readable(s)
	not agent_plain_write_with_approvers(s)
}

server_function(name) if name in data.custos.lists.agent.server_functions

side_effect_function(name) if name in data.custos.lists.agent.side_effect_functions

side_effect_function(name) if {
	some prefix in data.custos.lists.agent.side_effect_function_prefixes
	startswith(name, prefix)
}

server_function(name) if {
	some prefix in data.custos.lists.agent.server_function_prefixes
	startswith(name, prefix)
}

agent_readable(s) if {
	s.kind in data.custos.lists.agent.readable_kinds
	not mutating(s)
	not s.copy_program
	not s.copy_file
}

agent_readable(s) if {
	s.kind == "other"
	s.node in data.custos.lists.agent.readable_nodes
}

agent_readable(s) if {
	s.kind == "set"
	s.setting in data.custos.lists.agent.settings
}
