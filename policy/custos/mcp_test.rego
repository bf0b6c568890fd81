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

resource_input(kind, method, uri) := object.union(mcp_input(kind, method, "", null), {"command": {"protocol": "mcp", "text": uri, "method": method, "kind": "resource", "uri": uri}})

prompt_input(kind, method, prompt, args) := object.union(mcp_input(kind, method, "", null), {"command": {"protocol": "mcp", "text": prompt, "method": method, "kind": "prompt", "prompt": prompt, "arguments": args}})

test_agent_reads_resource_masked if {
	d := custos.decision with input as resource_input("agent", "resources/read", "test://customers/7")
	d.action == "allow"
	{"column": "ssn", "method": "partial"} in d.mask
}

test_agent_resource_listed if {
	d := custos.decision with input as resource_input("agent", "resources/list", "test://config/settings.json")
	d.action == "allow"
}

test_agent_template_listed if {
	d := custos.decision with input as resource_input("agent", "resources/templates/list", "test://customers/{id}")
	d.action == "allow"
}

test_agent_secret_resource_refused_listed_and_read if {
	every uri in ["test://config/secrets.env", "file:///home/app/.ssh/id_rsa", "vault://Credentials/db", "file:///etc/shadow"] {
		every method in ["resources/list", "resources/templates/list", "resources/read"] {
			d := custos.decision with input as resource_input("agent", method, uri)
			d.action == "deny"
			d.rule == "custos.mcp_agent_secret_resource"
		}
	}
}

test_human_reads_secret_resource if {
	d := custos.decision with input as resource_input("human", "resources/read", "test://config/secrets.env")
	d.action == "allow"
}

test_denied_resource_prefix_refused_for_humans if {
	d := custos.decision with input as resource_input("human", "resources/read", "TEST://Internal/x")
		with data.custos.lists.mcp.denied_resource_prefixes as ["test://internal/"]
	d.action == "deny"
	d.rule == "custos.mcp_denied_resource"
}

test_denied_resource_prefix_lookalike_allowed if {
	d := custos.decision with input as resource_input("human", "resources/read", "test://internals/x")
		with data.custos.lists.mcp.denied_resource_prefixes as ["test://internal/"]
	d.action == "allow"
}

test_resource_without_uri_unclassified_for_agents if {
	i := mcp_input("agent", "resources/read", "", null)
	d := custos.decision with input as object.union(i, {"command": {"protocol": "mcp", "text": "", "method": "resources/read", "kind": "resource", "uri": 7}})
	d.action == "deny"
}

test_agent_gets_prompt_masked if {
	d := custos.decision with input as prompt_input("agent", "prompts/get", "summarise_customer", {"id": "7"})
	d.action == "allow"
	count(d.mask) > 0
}

test_agent_prompt_arguments_must_be_strings if {
	d := custos.decision with input as prompt_input("agent", "prompts/get", "summarise_customer", {"id": 7})
	d.action == "deny"
	d.rule == "custos.mcp_arguments"
}

test_denied_prompt_refused_listed_and_got if {
	every method in ["prompts/list", "prompts/get"] {
		d := custos.decision with input as prompt_input("human", method, "Admin_Override", {})
			with data.custos.lists.mcp.denied_prompts as ["admin_override"]
		d.action == "deny"
		d.rule == "custos.mcp_denied_prompt"
	}
}

test_prompt_lookalike_allowed if {
	d := custos.decision with input as prompt_input("human", "prompts/get", "admin_overview", {})
		with data.custos.lists.mcp.denied_prompts as ["admin_override"]
	d.action == "allow"
}

test_agent_resource_read_not_a_write if {
	# A read of a resource on a regulated connection is not held like a tool that may write.
	i := resource_input("human", "resources/read", "test://customers/7")
	d := custos.decision with input as object.union(i, {"connection": {"name": "files", "type": "mcp", "labels": ["regulated"]}})
	d.action == "allow"
	d.record == "buffered"
}
