# HTTP requests (connections of type http). Agents may use the safe methods (RFC 9110 §9.2.1: GET, HEAD,
# OPTIONS); any other method from an agent, or a write to a regulated connection from anyone, needs review.
# Paths on the denied list are refused for agents; TRACE and CONNECT, and paths carrying encoded dots or
# slashes (which upstreams decode differently), are refused for everyone. Agents' responses are masked
# by member name with the same mask lists as SQL columns (`ssn`, `email`, … at any depth of a JSON body).
# The path is the canonical one the gateway forwards (escapes decoded, `;params` and dot segments gone).
# WebSocket client messages are decided one by one (`websocket: "message"`, the message in `body`):
# a message that names a write (`{"action": "delete"}`, a GraphQL mutation) is a write, and agents may
# send only JSON objects the rules can read.
package custos

http if input.command.protocol == "http"

# An HTTP request is fully described by its method, path, query, headers and body: nothing to classify.
# One without a method and a path is not a request the gateway understood: unclassified (agents refused).
classified if {
	http
	is_string(input.command.method)
	is_string(input.command.path)
}

http_safe_methods := {"GET", "HEAD", "OPTIONS"}

# Institutions extend the list in data (custos.lists.http.denied_paths) without editing this file.
http_denied_paths contains p if some p in {"/admin", "/internal", "/actuator", "/debug"}

http_denied_paths contains lower(p) if some p in data.custos.lists.http.denied_paths

http_write if {
	http
	not input.command.method in http_safe_methods
}

# Writes are held until their audit record is durable.
any_mutating if http_write

any_mutating if http_ws_write

http_ws_message if {
	http
	input.command.websocket == "message"
}

# Members that name what a message does, in the message protocols agents use (JSON-RPC `method`,
# action/type envelopes, GraphQL over WebSocket's `payload.query`).
http_ws_verb_keys := {"method", "action", "op", "operation", "type", "command", "cmd", "verb", "event"}

http_ws_write_verbs := {
	"create", "insert", "update", "upsert", "delete", "remove", "drop", "put", "post", "patch", "write",
	"exec", "execute", "alter", "truncate", "grant", "revoke", "transfer", "send", "submit", "cancel",
	"approve", "pay", "move", "rename", "purge", "destroy", "kill", "reset", "restore", "import",
	"modify", "edit", "save", "mutate", "mutation", "assign", "revert", "deploy", "merge", "upload",
	"publish", "disable", "enable", "archive", "lock", "unlock", "block", "refund", "withdraw", "charge",
}

# The verb at the top level, or one level down (`{"data": {"action": "delete"}}`, `{"payload": {…}}`).
http_ws_verbs contains lower(input.command.body[k]) if {
	some k in http_ws_verb_keys
	is_string(input.command.body[k])
}

http_ws_verbs contains lower(inner[k]) if {
	some inner in input.command.body
	is_object(inner)
	some k in http_ws_verb_keys
	is_string(inner[k])
}

http_ws_write if {
	http_ws_message
	is_object(input.command.body)
	some verb in http_ws_verbs
	some w in http_ws_write_verbs
	http_ws_names_verb(verb, w)
}

http_ws_write if {
	http_ws_message
	contains(lower(input.command.body.payload.query), "mutation")
}

http_ws_names_verb(verb, w) if startswith(verb, w)

http_ws_names_verb(verb, w) if {
	some sep in [".", "/", "_", ":", "-", " "]
	contains(verb, concat("", [sep, w]))
}

specific_denials contains d if some d in http_denials

reviews contains r if some r in http_reviews

http_denials contains {"rule": "custos.http_method", "reason": sprintf("%s is not relayed", [input.command.method])} if {
	http
	input.command.method in {"TRACE", "CONNECT"}
}

http_denials contains {"rule": "custos.http_encoded_path", "reason": "encoded dots or slashes in the path are refused"} if {
	http
	lower_path := lower(input.command.path)
	some marker in ["%2e", "%2f", "%5c"]
	contains(lower_path, marker)
}

http_denials contains {"rule": "custos.http_denied_path", "reason": sprintf("agents may not call %s", [prefix])} if {
	http
	agent
	some prefix in http_denied_paths
	http_path_under(lower(input.command.path), prefix)
}

http_reviews contains {"rule": "custos.http_agent_write", "reason": sprintf("agents need approval for %s requests", [input.command.method])} if {
	http_write
	agent
}

http_reviews contains {"rule": "custos.regulated_write", "reason": "writes to a regulated connection need approval"} if {
	http_write
	data.custos.lists.regulated_label in input.connection.labels
}

http_reviews contains {"rule": "custos.regulated_write", "reason": "writes to a regulated connection need approval"} if {
	http_ws_write
	data.custos.lists.regulated_label in input.connection.labels
}

http_reviews contains {"rule": "custos.http_agent_ws_write", "reason": "agents need approval for WebSocket messages that write"} if {
	http_ws_write
	agent
}

http_reviews contains {"rule": "custos.http_agent_ws_opaque", "reason": "agents may send only JSON object messages over WebSocket"} if {
	http_ws_message
	agent
	not is_object(input.command.body)
}

http_path_under(path, prefix) if path == prefix

# `/admin.json` and `/admin%20` are `/admin` to routers that match suffixes or trim trailing blanks.
http_path_under(path, prefix) if {
	some sep in ["/", ".", "%20"]
	startswith(path, concat("", [prefix, sep]))
}
