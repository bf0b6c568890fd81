package custos_test

import data.custos

select_input := agent_input(stmt({"tables_read": ["public.t"]}))

human_select := human_input(stmt({"tables_read": ["public.t"]}))

test_malformed_local_denial_denies if {
	every bad in [
		{"just a string"},
		{{"reason": "no rule"}},
		{{"rule": "bank.x"}},
		{{"rule": "", "reason": "empty rule"}},
		{{"rule": 7, "reason": "x"}},
		{{"rule": "bank.x", "reason": ["not", "a", "string"]}},
		{{"rule": "bank.x", "reason": "x", "extra": true}},
		{{"rule": "bank.x", "reason": "x", "priority": "high"}},
		{true},
	] {
		every i in [select_input, human_select] {
			d := custos.decision with input as i with data.custos.local.deny as bad
			d.action == "deny"
			d.rule == "custos.invalid_decision"
		}
	}
}

test_malformed_entry_beside_valid_ones_still_denies_as_invalid if {
	d := custos.decision with input as human_select with data.custos.local.deny as {"oops", {"rule": "bank.ok", "reason": "fine"}}
	d.rule == "custos.invalid_decision"
}

test_malformed_local_review_denies if {
	every bad in [{"needs approval"}, {{"rule": "bank.r"}}, {{"reason": "r"}}] {
		d := custos.decision with input as human_select with data.custos.local.review as bad
		d.action == "deny"
		d.rule == "custos.invalid_decision"
	}
}

test_local_outputs_that_are_not_sets_deny if {
	d1 := custos.decision with input as human_select with data.custos.local.deny as true
	d1.rule == "custos.invalid_decision"
	d2 := custos.decision with input as human_select with data.custos.local.review as "review me"
	d2.rule == "custos.invalid_decision"
	d3 := custos.decision with input as select_input with data.custos.local.mask as "ssn"
	d3.rule == "custos.invalid_decision"
}

test_valid_local_entries_work if {
	d := custos.decision with input as human_select with data.custos.local.deny as {{"rule": "bank.no", "reason": "closed"}}
	d.action == "deny"
	d.rule == "bank.no"
	d.reason == "closed"
	r := custos.decision with input as human_select with data.custos.local.review as {{"rule": "bank.look", "reason": "check", "priority": 5}}
	r.action == "review"
	r.rule == "bank.look"
	a := custos.decision with input as human_select with data.custos.local.deny as set()
	a.action == "allow"
}

test_priority_not_rule_name_decides if {
	# agent_role_change (10) outranks agent_ddl (40) whatever their names' order.
	two := agent_input(stmt({"kind": "alter", "node": "AlterRoleStmt", "setting": "role"}))
	d := custos.decision with input as two
	d.rule == "custos.agent_role_change"

	# A local entry's own priority wins over the pack's.
	d2 := custos.decision with input as two with data.custos.local.deny as {{"rule": "zz.first", "reason": "r", "priority": 1}}
	d2.rule == "zz.first"

	# Without one, a local rule has the default priority (50): after role changes, before the catch-all.
	d3 := custos.decision with input as two with data.custos.local.deny as {{"rule": "aa.local", "reason": "r"}}
	d3.rule == "custos.agent_role_change"
}

test_equal_priority_falls_back_to_rule_name if {
	d := custos.decision with input as human_select with data.custos.local.deny as {{"rule": "b.x", "reason": "r", "priority": 3}, {"rule": "a.x", "reason": "r", "priority": 3}}
	d.rule == "a.x"
}

test_pack_rule_before_local_rule_of_equal_priority if {
	# agent_write is 50, a local rule without priority is 50 too: the pack's reason stays the one the
	# client reads, though `bank.` sorts before `custos.`.
	w := agent_input(stmt({"kind": "insert", "node": "InsertStmt", "tables_written": ["public.t"], "dml": ["insert"]}))
	d := custos.decision with input as w with data.custos.local.deny as {{"rule": "bank.no_writes", "reason": "r"}}
	d.rule == "custos.agent_write"

	# A local rule that sets a lower priority still comes first.
	d2 := custos.decision with input as w with data.custos.local.deny as {{"rule": "bank.no_writes", "reason": "r", "priority": 49}}
	d2.rule == "bank.no_writes"
}
