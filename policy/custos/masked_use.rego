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
