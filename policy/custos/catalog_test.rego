package custos_test

import data.custos

use(column, name, u, labels) := {"column": column, "name": name, "use": u, "where": "Filter", "labels": labels}

resolved(uses, functions) := {"status": "resolved", "uses": uses, "functions": functions}

test_agent_filter_on_sensitive_source_denied if {
	s := stmt({"catalog": resolved([use("public.customers.ssn", "ssn", "filter", [])], [])})
	d := custos.decision with input as agent_input(s)
	denied_by(d, "custos.agent_masked_filter")
}

test_agent_output_of_sensitive_source_masked if {
	s := stmt({"catalog": resolved([use("public.customers.memo", "memo", "output", ["ssn"])], [])})
	d := custos.decision with input as agent_input(s)
	d.action == "allow"
	some m in d.mask
	m.column == "public.customers.memo"
}

test_agent_labelled_column_computed_denied if {
	s := stmt({"catalog": resolved([use("public.customers.memo", "memo", "computed", ["ssn"])], [])})
	d := custos.decision with input as agent_input(s)
	denied_by(d, "custos.agent_masked_expression")
}

test_agent_camel_case_name_whole_row_denied if {
	s := stmt({"catalog": resolved([use("public.t.customerSSN", "customer_ssn", "whole_row", [])], [])})
	d := custos.decision with input as agent_input(s)
	denied_by(d, "custos.agent_whole_row")
}

test_agent_filter_on_plain_source_allowed if {
	s := stmt({"catalog": resolved([use("public.customers.name", "name", "filter", [])], [])})
	d := custos.decision with input as agent_input(s)
	d.action == "allow"
}

test_agent_unresolved_denied if {
	s := stmt({"catalog": {"status": "unresolved", "reason": "x", "uses": [], "functions": []}})
	d := custos.decision with input as agent_input(s)
	denied_by(d, "custos.agent_unresolved")
}

test_human_unresolved_allowed if {
	s := stmt({"catalog": {"status": "unresolved", "reason": "x", "uses": [], "functions": []}})
	d := custos.decision with input as human_input(s)
	d.action == "allow"
}

test_agent_volatile_function_denied if {
	s := stmt({"catalog": resolved([], [{"name": "public.bump", "volatility": "volatile"}])})
	d := custos.decision with input as agent_input(s)
	denied_by(d, "custos.agent_volatile_function")
}

test_agent_vetted_volatile_and_stable_allowed if {
	fs := [
		{"name": "random", "volatility": "volatile"}, {"name": "now", "volatility": "stable"},
		{"name": "lower", "volatility": "immutable"},
	]
	d := custos.decision with input as agent_input(stmt({"catalog": resolved([], fs)}))
	d.action == "allow"
}

test_agent_side_effect_function_by_name_denied if {
	s := stmt({"functions": ["txid_current"]})
	d := custos.decision with input as agent_input(s)
	denied_by(d, "custos.agent_side_effect")
}

test_agent_unknown_function_denied if {
	s := stmt({"catalog": resolved([], [{"name": "nosuch", "volatility": "unknown"}])})
	d := custos.decision with input as agent_input(s)
	denied_by(d, "custos.agent_unknown_function")
}

test_agent_statistics_view_denied if {
	s := stmt({"catalog": resolved([use("pg_catalog.pg_statistic.stavalues1", "stavalues1", "computed", [])], [])})
	d := custos.decision with input as agent_input(s)
	denied_by(d, "custos.agent_statistics")
}

test_agent_activity_function_denied if {
	s := stmt({"catalog": resolved([], [{"name": "pg_catalog.pg_stat_get_activity", "volatility": "stable"}])})
	d := custos.decision with input as agent_input(s)
	denied_by(d, "custos.agent_statistics")
}

test_agent_iban_named_filter_denied if {
	s := stmt({"catalog": resolved([use("public.customers.iban", "iban", "computed", [])], [])})
	d := custos.decision with input as agent_input(s)
	denied_by(d, "custos.agent_masked_expression")
}
