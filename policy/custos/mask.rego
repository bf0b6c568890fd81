# Columns that agents see masked: the canonical names always (a `SELECT *` names no column), plus any
# referenced column whose name matches a pattern. The masking module applies them to result columns.
package custos

mask := [m | some m in mask_rules]

mask_rules contains {"column": m.column, "method": m.method} if {
	agent
	some m in data.custos.lists.mask
}

mask_rules contains {"column": name, "method": m.method} if {
	agent
	some s in statements
	some c in s.columns
	name := lower(base_name(c))
	some m in data.custos.lists.mask
	regex.match(m.pattern, name)
}

mask_rules contains m if {
	some m in data.custos.local.mask
}
