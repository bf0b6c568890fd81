# Columns that agents see masked: the canonical names always (a `SELECT *` names no column), plus any
# referenced column named like one (see name_candidates). The masking module applies them to result columns.
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
	some candidate in name_candidates(name)
	m := mask_by_name[candidate]
}

# `customer_ssn`, `ssn_last4` and `ssn` are named like `ssn` (whole `_`-separated words at either end);
# `lesson` is not. Object lookups, not regex: regex.match recompiles its pattern on every call in WASM.
mask_by_name[alias] := {"column": m.column, "method": m.method} if {
	some m in data.custos.lists.mask
	some alias in m.names
}

name_candidates(name) := {c |
	parts := split(name, "_")
	some i in numbers.range(0, count(parts) - 1)
	some c in [concat("_", array.slice(parts, i, count(parts))), concat("_", array.slice(parts, 0, i + 1))]
}

mask_rules contains m if {
	some m in data.custos.local.mask
}
