package custos_test

import data.custos

mcp_input(kind, method, tool, args) := {
	"identity": {"subject": "s", "issuer": "i", "groups": [], "kind": kind},
	"connection": {"name": "files", "type": "mcp", "labels": []},
	"session": {"id": "1", "client_addr": "127.0.0.1", "started_at": "", "application_name": ""},
	"command": {"protocol": "mcp", "text": tool, "method": method, "tool": tool, "arguments": args},
	"time": {"rfc3339": "", "unix_ms": 0, "weekday": 1, "hour": 12},
}

test_agent_read_tool_allowed_buffered_and_masked if {
	d := custos.decision with input as mcp_input("agent", "tools/call", "get_customer", {"id": 7})
	d.action == "allow"
	d.record == "buffered"
	{"column": "ssn", "method": "partial"} in d.mask
}

test_agent_write_tool_denied if {
	d := custos.decision with input as mcp_input("agent", "tools/call", "delete_customer", {"id": 7})
	d.action == "deny"
	d.rule == "custos.mcp_agent_tool"
}

test_agent_lookalike_prefix_denied if {
	# "getaway_delete" does not start with "get_"; "list" alone is not a prefix match either
	d := custos.decision with input as mcp_input("agent", "tools/call", "getaway_delete", {})
	d.action == "deny"
}

test_agent_write_tool_not_listed if {
	d := custos.decision with input as mcp_input("agent", "tools/list", "write_file", null)
	d.action == "deny"
}

test_agent_arguments_must_be_object if {
	d := custos.decision with input as mcp_input("agent", "tools/call", "get_customer", [1])
	d.action == "deny"
	d.rule == "custos.mcp_arguments"
}

test_agent_listed_tool_allowed if {
	d := custos.decision with input as mcp_input("agent", "tools/call", "transfer", {})
		with data.custos.lists.mcp.agent_tools as ["Transfer"]
	d.action == "allow"
}

test_denied_tool_refused_for_humans if {
	d := custos.decision with input as mcp_input("human", "tools/call", "drop_everything", {})
		with data.custos.lists.mcp.denied_tools as ["drop_everything"]
	d.action == "deny"
	d.rule == "custos.mcp_denied_tool"
}

test_human_write_tool_allowed_sync if {
	d := custos.decision with input as mcp_input("human", "tools/call", "delete_customer", {"id": 7})
	d.action == "allow"
	d.record == "sync"
}

test_unclassified_mcp_refused_for_agents if {
	d := custos.decision with input as mcp_input("agent", "resources/read", "get_x", {})
	d.action == "deny"
}

test_regulated_write_tool_needs_review if {
	i := mcp_input("human", "tools/call", "delete_customer", {"id": 7})
	d := custos.decision with input as object.union(i, {"connection": {"name": "files", "type": "mcp", "labels": ["regulated"]}})
	d.action == "review"
	d.rule == "custos.regulated_write"
}

test_regulated_write_tool_still_listed if {
	i := mcp_input("human", "tools/list", "delete_customer", null)
	d := custos.decision with input as object.union(i, {"connection": {"name": "files", "type": "mcp", "labels": ["regulated"]}})
	d.action == "allow"
}
