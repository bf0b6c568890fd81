# Columns that agents see masked: the canonical names always (a `SELECT *` names no column), plus any
# referenced column named like one (see mask_methods). The masking module applies them to result columns.
# Lists: `mask` is canonical column → method, `mask_names` is every known spelling → canonical column.
package custos

mask := [m | some m in mask_rules]

mask_rules contains {"column": column, "method": method} if {
	agent
	some column, method in data.custos.lists.mask
}

# Detectors on every column for agents: free text (a call-centre memo, a JSON note) holds SSNs and card
# numbers under names no column rule knows. Columns masked whole skip detectors.
mask_rules contains {"detector": detector, "method": method} if {
	agent
	some detector, method in data.custos.lists.mask_detectors
}

mask_rules contains {"column": name, "method": method} if {
	agent
	some s in statements
	some c in s.columns
	name := lower(base_name(c))
	some method in mask_methods(name)
}

# `customer_ssn`, `ssn_last4` and `ssn` are named like `ssn` (whole `_`-separated words at either end);
# `lesson` is not. Object lookups in precomputed lists, no regex (regex.match recompiles its pattern on
# every call in WASM) and no index built per evaluation. Most columns are one word: the whole name is
# looked up first, and only names with `_` are split.
mask_methods(name) := {m} if {
	m := data.custos.lists.mask[data.custos.lists.mask_names[name]]
} else := {m |
	some candidate in name_candidates(name)
	m := data.custos.lists.mask[data.custos.lists.mask_names[candidate]]
} if {
	contains(name, "_")
}

name_candidates(name) := {c |
	parts := split(name, "_")
	some i in numbers.range(0, count(parts) - 1)
	some c in [concat("_", array.slice(parts, i, count(parts))), concat("_", array.slice(parts, 0, i + 1))]
}

mask_rules contains m if {
	some m in data.custos.local.mask
}

# Columns the catalog resolves as a statement's outputs, masked by what is known of their source: its
# labels (configuration, classification scan) and its name. `v.tin` reading `customers.ssn`, or a `memo`
# column the scan found holding SSNs, is masked though the statement never names a sensitive column.
mask_rules contains {"column": u.column, "method": method} if {
	agent
	some s in statements
	some u in object.get(s, ["catalog", "uses"], [])
	u.use == "output"
	some method in source_methods(u)
}

source_methods(u) := {label_method(l) | some l in u.labels} | {m | some m in mask_methods(u.name)}

label_method(label) := m if {
	m := data.custos.lists.mask[data.custos.lists.label_columns[lower(label)]]
} else := m if {
	m := data.custos.lists.mask[data.custos.lists.mask_names[lower(label)]]
} else := m if {
	m := data.custos.lists.mask[lower(label)]
} else := "redact"
