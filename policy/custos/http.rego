# HTTP requests (connections of type http). Agents may use the safe methods (RFC 9110 §9.2.1: GET, HEAD,
# OPTIONS); any other method from an agent, or a write to a regulated connection from anyone, needs review.
# Paths on the denied list are refused for agents; TRACE and CONNECT, and paths carrying encoded dots or
# slashes (which upstreams decode differently), are refused for everyone. Agents' responses are masked
# by member name with the same mask lists as SQL columns (`ssn`, `email`, … at any depth of a JSON body).
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

http_path_under(path, prefix) if path == prefix

http_path_under(path, prefix) if startswith(path, concat("", [prefix, "/"]))
