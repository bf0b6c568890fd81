package custos_test

import data.custos

test_agents_get_canonical_masks if {
	d := custos.decision with input as agent_input(stmt({}))
	{"column": "ssn", "method": "partial"} in d.mask
	{"column": "date_of_birth", "method": "redact"} in d.mask
	{"column": "routing_number", "method": "redact"} in d.mask
}

test_agents_mask_columns_named_like_sensitive_ones if {
	d := custos.decision with input as agent_input(stmt({"columns": ["c.customer_ssn", "Email_Address", "home_phone", "acct_no", "cc_number", "dob", "company"]}))
	every c in ["customer_ssn", "email_address", "home_phone", "acct_no", "cc_number", "dob"] {
		some m in d.mask
		m.column == c
	}
	not company_masked(d.mask)
}

company_masked(mask) if {
	some m in mask
	m.column == "company"
}

test_humans_unmasked if {
	d1 := custos.decision with input as human_input(stmt({"columns": ["ssn"]}))
	d1.mask == []
}
