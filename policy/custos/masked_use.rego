# Agents may not get a masked column's values under a form the masker cannot recognize: computed into
# another value (upper(ssn), ssn::text, string_agg, a scalar subquery, a UNION arm), read as part of a
# whole row (row_to_json(c), to_json(c.*)), or used to filter, join, group or sort rows (an oracle:
# `where ssn like '07%'` reveals the value one guess at a time). A column is masked when it is named like
# a canonical sensitive column, listed in a local mask rule, or an output name standing for one of those
# (`with x as (select ssn as a …) select upper(a) from x`). `*` stands for columns of unknown names.
package custos

agent_denials contains {"rule": "custos.agent_masked_expression", "reason": sprintf("agents may not compute over the masked column %s: the result would leave unmasked", [c])} if {
	agent
	some s in statements
	some c in object.get(s, "expression_columns", [])
	masked_reference(s, c)
}

agent_denials contains {"rule": "custos.agent_masked_filter", "reason": sprintf("agents may not filter, join, group or sort on the masked column %s: it reveals the value", [c])} if {
	agent
	some s in statements
	some c in object.get(s, "filter_columns", [])
	masked_reference(s, c)
}

agent_denials contains {"rule": "custos.agent_whole_row", "reason": sprintf("agents may not read whole rows of %s as one value: its masked columns would leave unmasked", [r])} if {
	agent
	some s in statements
	some r in object.get(s, "row_references", [])
}

masked_reference(_, ref) if masked_name(lower(base_name(ref)))

masked_reference(s, ref) if {
	name := lower(base_name(ref))
	some r in object.get(s, "renamed_columns", [])
	lower(r.name) == name
	masked_name(lower(r.from))
}

masked_name("*")

masked_name(name) if count(mask_methods(name)) > 0

masked_name(name) if {
	some m in data.custos.local.mask
	is_string(m.column)
	lower(base_name(m.column)) == name
}

# Catalog-resolved classification (input.command.statements[_].catalog): the planner's view of what each
# statement reads, through views, `*`, positions and attribute notation. A sensitive source may only be
# output as itself, where result masking finds it by the RowDescription's source; used any other way it is
# refused whatever the statement calls it. A statement the catalog could not resolve is refused.
agent_denials contains {"rule": source_use_rule[u.use], "reason": sprintf("agents may not use the sensitive column %s %s (%s): the value would leave unmasked or be revealed", [u.column, source_use_text[u.use], u.where])} if {
	agent
	some s in statements
	some u in object.get(s, ["catalog", "uses"], [])
	u.use != "output"
	sensitive_source(u)
}

agent_denials contains {"rule": "custos.agent_unresolved", "reason": sprintf("agents may only run statements the catalog resolves: %s", [object.get(s.catalog, "reason", "unresolved")])} if {
	agent
	some s in statements
	s.catalog.status == "unresolved"
}

# Statistics and activity relations hold other rows' values (histograms) and other sessions' SQL: read
# through a view too (as the planner found them; agent.rego has the rule for relations named directly).
agent_denials contains {"rule": "custos.agent_statistics", "reason": sprintf("agents may not read %s (it exposes column values or other sessions' SQL)", [t])} if {
	agent
	some s in statements
	some u in object.get(s, ["catalog", "uses"], [])
	t := relation_of(u.column)
	lower(base_name(t)) in data.custos.lists.agent.denied_relations
}

# The same rules as the parse-tree layer's, so a client learns one name per kind of use.
source_use_rule := {
	"computed": "custos.agent_masked_expression",
	"filter": "custos.agent_masked_filter",
	"whole_row": "custos.agent_whole_row",
	"subplan": "custos.agent_masked_expression",
	"set_operation": "custos.agent_masked_expression",
}

source_use_text := {
	"computed": "inside an expression",
	"filter": "in a condition, join, grouping, ordering or index",
	"whole_row": "as part of a whole row",
	"subplan": "as a subquery's value",
	"set_operation": "in a set operation (UNION, INTERSECT, EXCEPT)",
}

# Sensitive by configuration or the classification scan (labels), or by name (the pack's lists, local
# mask rules); `name` is already snake_case (`customerSSN` is `customer_ssn`).
sensitive_source(u) if count(u.labels) > 0

sensitive_source(u) if masked_name(u.name)

sensitive_source(u) if {
	some m in data.custos.local.mask
	is_string(m.column)
	qualified_rule_matches(lower(m.column), lower(u.column))
}

qualified_rule_matches(rule, column) if rule == column

qualified_rule_matches(rule, column) if endswith(column, concat("", [".", rule]))

relation_of(column) := concat(".", array.slice(parts, 0, count(parts) - 1)) if parts := split(column, ".")
