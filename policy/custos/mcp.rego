# Tool calls to upstream MCP servers (connections of type mcp). A call is decided on the tool's name and its
# arguments (`input.command.method` "tools/call", `.tool`, `.arguments`); "tools/list" decides whether a tool
# is offered at all (a tool refused by name is never listed). Agents may call only tools whose names say
# they read (get_, list_, read_, search_, … below, or data.custos.lists.mcp.agent_read_prefixes) or that
# the institution lists (data.custos.lists.mcp.agent_tools); tools on data.custos.lists.mcp.denied_tools
# are refused for everyone. Agents' results are masked like any other (mask.rego: names and detectors).
package custos

mcp if input.command.protocol == "mcp"

# An MCP request the gateway understood names its method and a tool; anything else is unclassified
# (refused for agents by agent.rego).
classified if {
	mcp
	mcp_tool_method
	is_string(input.command.tool)
}

classified if {
	mcp
	mcp_resource_method
	is_string(input.command.uri)
}

classified if {
	mcp
	mcp_prompt_method
	is_string(input.command.prompt)
}

mcp_tool_method if input.command.method in {"tools/call", "tools/list"}

mcp_resource_method if input.command.method in {"resources/list", "resources/templates/list", "resources/read"}

mcp_prompt_method if input.command.method in {"prompts/list", "prompts/get"}

mcp_tool := lower(input.command.tool) if mcp

mcp_read_prefixes contains p if some p in {
	"get_", "list_", "read_", "search_", "find_", "fetch_", "lookup_", "query_", "describe_", "show_", "count_",
	"get-", "list-", "read-", "search-",
}

mcp_read_prefixes contains lower(p) if some p in data.custos.lists.mcp.agent_read_prefixes

mcp_agent_readable if {
	some p in mcp_read_prefixes
	startswith(mcp_tool, p)
}

mcp_agent_readable if {
	some t in data.custos.lists.mcp.agent_tools
	mcp_tool == lower(t)
}

agent_denials contains {"rule": "custos.mcp_agent_tool", "reason": sprintf("agents may only call MCP tools that read (%s is not one)", [input.command.tool])} if {
	agent
	mcp
	mcp_tool_method
	not mcp_agent_readable
}

# A resource whose URI names credentials (a key file, a .env, a secrets store) is not for agents, masked
# or not: detectors cannot be relied on to know a private key or a password when they see one.
mcp_secret_uri_words := {"secret", "password", "passwd", "credential", "token", ".env", "id_rsa", "id_ed25519", "private_key", "private-key", ".pem", ".key", "shadow"}

mcp_uri := lower(input.command.uri) if {
	mcp
	is_string(input.command.uri)
}

agent_denials contains {"rule": "custos.mcp_agent_secret_resource", "reason": "agents may not read MCP resources whose URI names credentials"} if {
	agent
	mcp
	mcp_resource_method
	some w in mcp_secret_uri_words
	contains(mcp_uri, w)
}

agent_denials contains {"rule": "custos.mcp_arguments", "reason": "a prompt's arguments must be a map of strings"} if {
	agent
	mcp
	input.command.method == "prompts/get"
	not mcp_string_map(input.command.arguments)
}

mcp_string_map(x) if {
	is_object(x)
	every _, v in x {
		is_string(v)
	}
}

everyone_denials contains {"rule": "custos.mcp_denied_resource", "reason": sprintf("the MCP resource %s is refused by policy", [input.command.uri])} if {
	mcp
	mcp_resource_method
	some p in data.custos.lists.mcp.denied_resource_prefixes
	startswith(mcp_uri, lower(p))
}

everyone_denials contains {"rule": "custos.mcp_denied_prompt", "reason": sprintf("the MCP prompt %s is refused by policy", [input.command.prompt])} if {
	mcp
	mcp_prompt_method
	some p in data.custos.lists.mcp.denied_prompts
	lower(input.command.prompt) == lower(p)
}

agent_denials contains {"rule": "custos.mcp_arguments", "reason": "the tool's arguments must be a JSON object"} if {
	agent
	mcp
	input.command.method == "tools/call"
	not is_object(input.command.arguments)
}

everyone_denials contains {"rule": "custos.mcp_denied_tool", "reason": sprintf("the MCP tool %s is refused by policy", [input.command.tool])} if {
	mcp
	some t in data.custos.lists.mcp.denied_tools
	mcp_tool == lower(t)
}

# A tool that does not say it reads may change something: its record is durable before it runs.
any_mutating if {
	mcp
	input.command.method == "tools/call"
	not mcp_agent_readable
}

reviews contains r if some r in mcp_reviews

# On a connection labelled regulated, a tool that does not say it reads waits for an approver, whoever calls.
mcp_reviews contains {"rule": "custos.regulated_write", "reason": "tools that may write on a regulated connection need approval"} if {
	mcp
	input.command.method == "tools/call"
	not mcp_agent_readable
	data.custos.lists.regulated_label in input.connection.labels
}
