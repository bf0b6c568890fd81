# AWS API calls (connections of type aws). The gateway names each call by service and action (from
# X-Amz-Target, the query protocol's Action, or S3's REST mapping) and the resource it touches. Agents may
# read (Get*, List*, Describe*, Head*, Query, Scan, BatchGetItem…) within the item bound; their other
# calls of known actions need review; services and actions not on the lists are refused to them. IAM
# changes and KMS key changes are denied to everyone; agents may not delete buckets or change bucket and
# object permissions. Writes to a regulated connection need review from anyone. Lists: custos.lists.aws.
package custos

aws if input.command.protocol == "aws"

classified if {
	aws
	is_string(input.command.service)
	is_string(input.command.action)
}

aws_lists := object.get(data.custos.lists, "aws", {})

aws_read_prefixes := object.get(aws_lists, "read_prefixes", ["Get", "List", "Describe", "Head"])

aws_read if {
	aws
	some p in aws_read_prefixes
	startswith(input.command.action, p)
}

aws_read if {
	aws
	input.command.action in object.get(aws_lists, "read_actions", [])
}

aws_write if {
	aws
	not aws_read
}

any_mutating if aws_write

# S3's actions are the gateway's own REST mapping, which knows no other; the other services' are listed.
aws_known_action if {
	aws
	input.command.service == "s3"
}

aws_known_action if {
	aws
	input.command.action in object.get(aws_lists, ["actions", input.command.service], [])
}

aws_iam_change if {
	input.command.service == "iam"
	aws_write
}

aws_kms_key_change if {
	input.command.service == "kms"
	input.command.action in object.get(aws_lists, "kms_key_changes", [])
}

specific_denials contains d if some d in aws_denials

reviews contains r if some r in aws_reviews

aws_denials contains {"rule": "custos.aws_iam_change", "reason": sprintf("IAM changes are not made through the gateway (iam:%s)", [input.command.action])} if {
	aws
	aws_iam_change
}

aws_denials contains {"rule": "custos.aws_kms_key_change", "reason": sprintf("KMS key changes are not made through the gateway (kms:%s)", [input.command.action])} if {
	aws
	aws_kms_key_change
}

aws_denials contains {"rule": "custos.aws_unknown_service", "reason": sprintf("agents may not call %s (not a listed service)", [input.command.service])} if {
	aws
	agent
	not input.command.service in object.get(aws_lists, "agent_services", [])
}

aws_denials contains {"rule": "custos.aws_unknown_action", "reason": sprintf("agents may not call %s:%s (not a listed action)", [input.command.service, input.command.action])} if {
	aws
	agent
	input.command.service in object.get(aws_lists, "agent_services", [])
	not aws_known_action
}

aws_denials contains {"rule": "custos.aws_agent_denied_action", "reason": sprintf("agents may not call %s:%s", [input.command.service, input.command.action])} if {
	aws
	agent
	sprintf("%s:%s", [input.command.service, input.command.action]) in object.get(aws_lists, "agent_denied_actions", [])
}

aws_denials contains {"rule": "custos.aws_agent_unread_params", "reason": "agents' request parameters must fit the policy's bound (limits.policy_body)"} if {
	aws
	agent
	is_string(input.command.params_skipped)
}

aws_reviews contains {"rule": "custos.aws_agent_write", "reason": sprintf("agents need approval for %s:%s", [input.command.service, input.command.action])} if {
	aws
	agent
	aws_write
}

aws_reviews contains {"rule": "custos.aws_agent_large_read", "reason": sprintf("agents need approval to read more than %d items at once", [aws_max_items])} if {
	aws
	agent
	aws_read
	is_number(input.command.params.Limit)
	input.command.params.Limit > aws_max_items
}

aws_max_items := object.get(aws_lists, "agent_max_items", 1000)

aws_reviews contains {"rule": "custos.regulated_write", "reason": "writes to a regulated connection need approval"} if {
	aws_write
	data.custos.lists.regulated_label in input.connection.labels
}
