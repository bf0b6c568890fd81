# Rules for every identity: bounded writes, writes to regulated data need approval, and no setting that
# would make the server lex SQL differently from the gateway's parser.
package custos

# UPDATE/DELETE that restricts no rows: a human's goes to review where the connection has approvers
# (input.connection.approvers), and is refused where nobody could approve it; anyone else's is refused.
everyone_denials contains {"rule": "custos.unbounded_write", "reason": sprintf("%s without a WHERE clause that restricts rows", [upper(k)])} if {
	some k in unbounded_writes
	not reviewable_unbounded
}

everyone_reviews contains {"rule": "custos.unbounded_write", "reason": sprintf("%s without a WHERE clause that restricts rows needs approval", [upper(k)])} if {
	some k in unbounded_writes
	reviewable_unbounded
}

unbounded_writes contains k if {
	some s in statements
	some k in s.dml
	k in {"update", "delete"}
	not s.has_where
}

reviewable_unbounded if {
	input.identity.kind == "human"
	connection_has_approvers
}

connection_has_approvers if count(object.get(input, ["connection", "approvers"], [])) > 0

everyone_denials contains {"rule": "custos.parser_setting", "reason": sprintf("changing %s would make the gateway misread SQL", [s.setting])} if {
	some s in statements
	s.setting in data.custos.lists.everyone.parser_settings
}

regulated_reviews contains {"rule": "custos.regulated_write", "reason": "writes to a regulated connection need approval"} if {
	data.custos.lists.regulated_label in input.connection.labels
	some s in statements
	mutating(s)
}

regulated_reviews contains {"rule": "custos.regulated_write", "reason": sprintf("writes to regulated table %s need approval", [t])} if {
	some s in statements
	some t in s.tables_written
	data.custos.lists.regulated_label in object.get(s.table_labels, t, [])
}
