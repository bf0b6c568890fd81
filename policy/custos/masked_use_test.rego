package custos_test

import data.custos

denied_by(d, rule) if {
	d.action == "deny"
	d.rule == rule
}

test_agent_expression_over_masked_column_denied if {
	d := custos.decision with input as agent_input(stmt({"columns": ["ssn", "email"], "expression_columns": ["email"]}))
	denied_by(d, "custos.agent_masked_expression")
}

test_agent_expression_over_named_like_column_denied if {
	d := custos.decision with input as agent_input(stmt({"expression_columns": ["c.Customer_SSN"]}))
	denied_by(d, "custos.agent_masked_expression")
}

test_agent_expression_over_plain_column_allowed if {
	d := custos.decision with input as agent_input(stmt({"columns": ["full_name"], "expression_columns": ["full_name"]}))
	d.action == "allow"
}

test_agent_expression_over_renamed_masked_column_denied if {
	d := custos.decision with input as agent_input(stmt({
		"expression_columns": ["a"],
		"renamed_columns": [{"name": "a", "from": "ssn"}],
	}))
	denied_by(d, "custos.agent_masked_expression")
}

test_agent_expression_over_positional_rename_of_unknown_columns_denied if {
	d := custos.decision with input as agent_input(stmt({
		"expression_columns": ["e"],
		"renamed_columns": [{"name": "e", "from": "*"}],
	}))
	denied_by(d, "custos.agent_masked_expression")
}

test_agent_expression_over_locally_masked_column_denied if {
	d := custos.decision with input as agent_input(stmt({"expression_columns": ["tax_ref"]}))
		with data.custos.local.mask as [{"column": "customer_summary.tax_ref", "method": "redact"}]
	denied_by(d, "custos.agent_masked_expression")
}

test_agent_filter_on_masked_column_denied if {
	d := custos.decision with input as agent_input(stmt({"filter_columns": ["ssn"], "has_where": true}))
	denied_by(d, "custos.agent_masked_filter")
}

test_agent_filter_on_plain_column_allowed if {
	d := custos.decision with input as agent_input(stmt({"filter_columns": ["c.id", "a.customer_id"]}))
	d.action == "allow"
}

test_agent_whole_row_denied if {
	d := custos.decision with input as agent_input(stmt({"row_references": ["c"]}))
	denied_by(d, "custos.agent_whole_row")
}

test_humans_may_compute_and_filter if {
	d := custos.decision with input as human_input(stmt({
		"expression_columns": ["ssn"], "filter_columns": ["ssn"], "row_references": ["c"],
	}))
	d.action == "allow"
}

test_agents_get_detectors if {
	d := custos.decision with input as agent_input(stmt({}))
	every name in ["card", "ssn", "iban", "email", "phone"] {
		some m in d.mask
		m.detector == name
	}
}

test_humans_get_no_detectors if {
	d := custos.decision with input as human_input(stmt({}))
	d.mask == []
}
