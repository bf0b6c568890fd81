package custos_test

import data.custos

aws_input(kind, service, action) := {
	"identity": {"subject": "s", "issuer": "i", "groups": [], "kind": kind},
	"connection": {"name": "aws-prod", "type": "aws", "labels": []},
	"session": {"id": "1", "client_addr": "127.0.0.1", "started_at": "", "application_name": ""},
	"command": {"protocol": "aws", "text": sprintf("%s:%s", [service, action]), "service": service, "action": action, "resource": "arn:aws:s3:::b", "params": {}, "headers": {}},
	"time": {"rfc3339": "", "unix_ms": 0, "weekday": 1, "hour": 12},
}

with_params(inp, params) := json.patch(inp, [{"op": "replace", "path": "/command/params", "value": params}])

test_agent_s3_read_allowed_buffered_and_masked if {
	d := custos.decision with input as aws_input("agent", "s3", "GetObject")
	d.action == "allow"
	d.rule == "custos.agent_read"
	d.record == "buffered"
	{"column": "ssn", "method": "partial"} in d.mask
}

test_agent_list_and_query_allowed if {
	every a in [["s3", "ListObjectsV2"], ["dynamodb", "Query"], ["dynamodb", "Scan"], ["dynamodb", "DescribeTable"], ["sqs", "ListQueues"], ["sts", "GetCallerIdentity"], ["iam", "ListUsers"]] {
		d := custos.decision with input as aws_input("agent", a[0], a[1])
		d.action == "allow"
	}
}

test_agent_put_object_needs_review if {
	d := custos.decision with input as aws_input("agent", "s3", "PutObject")
	d.action == "review"
	d.rule == "custos.aws_agent_write"
	d.record == "sync"
}

test_agent_put_item_needs_review if {
	d := custos.decision with input as aws_input("agent", "dynamodb", "PutItem")
	d.action == "review"
}

test_agent_delete_bucket_denied if {
	d := custos.decision with input as aws_input("agent", "s3", "DeleteBucket")
	d.action == "deny"
	d.rule == "custos.aws_agent_denied_action"
}

test_iam_change_denied_for_everyone if {
	every kind in ["agent", "human"] {
		d := custos.decision with input as aws_input(kind, "iam", "AttachUserPolicy")
		d.action == "deny"
		d.rule == "custos.aws_iam_change"
	}
}

test_kms_key_change_denied_for_everyone if {
	d := custos.decision with input as aws_input("human", "kms", "ScheduleKeyDeletion")
	d.action == "deny"
	d.rule == "custos.aws_kms_key_change"
}

test_kms_encrypt_is_not_a_key_change if {
	d := custos.decision with input as aws_input("human", "kms", "Encrypt")
	d.action == "allow"
}

test_agent_unknown_service_denied if {
	d := custos.decision with input as aws_input("agent", "ec2", "DescribeInstances")
	d.action == "deny"
	d.rule == "custos.aws_unknown_service"
}

test_agent_unknown_action_denied if {
	d := custos.decision with input as aws_input("agent", "dynamodb", "GetItemz")
	d.action == "deny"
	d.rule == "custos.aws_unknown_action"
}

test_agent_get_lookalike_of_unknown_action_denied if {
	# Named like a read, but not an action of the service: refused, not allowed by its prefix.
	d := custos.decision with input as aws_input("agent", "sqs", "GetEverything")
	d.action == "deny"
}

test_human_write_allowed_sync_unmasked if {
	d := custos.decision with input as aws_input("human", "s3", "PutObject")
	d.action == "allow"
	d.record == "sync"
	d.mask == []
}

test_human_delete_bucket_allowed if {
	d := custos.decision with input as aws_input("human", "s3", "DeleteBucket")
	d.action == "allow"
}

test_regulated_write_reviewed_for_everyone if {
	inp := json.patch(aws_input("human", "s3", "PutObject"), [{"op": "replace", "path": "/connection/labels", "value": ["regulated"]}])
	d := custos.decision with input as inp
	d.action == "review"
	d.rule == "custos.regulated_write"
}

test_agent_scan_within_limit_allowed if {
	d := custos.decision with input as with_params(aws_input("agent", "dynamodb", "Scan"), {"TableName": "t", "Limit": 100})
	d.action == "allow"
}

test_agent_scan_past_limit_reviewed if {
	d := custos.decision with input as with_params(aws_input("agent", "dynamodb", "Scan"), {"TableName": "t", "Limit": 5000})
	d.action == "review"
	d.rule == "custos.aws_agent_large_read"
}

test_agent_unread_params_denied if {
	inp := json.patch(aws_input("agent", "dynamodb", "Query"), [{"op": "remove", "path": "/command/params"}, {"op": "add", "path": "/command/params_skipped", "value": "too_large"}])
	d := custos.decision with input as inp
	d.action == "deny"
	d.rule == "custos.aws_agent_unread_params"
}

test_agent_aws_command_without_action_unclassified if {
	inp := json.patch(aws_input("agent", "s3", "GetObject"), [{"op": "remove", "path": "/command/action"}])
	d := custos.decision with input as inp
	d.action == "deny"
}
