package custos_test

import data.custos

http_input(kind, method, path) := {
	"identity": {"subject": "s", "issuer": "i", "groups": [], "kind": kind},
	"connection": {"name": "billing", "type": "http", "labels": []},
	"session": {"id": "1", "client_addr": "127.0.0.1", "started_at": "", "application_name": ""},
	"command": {"protocol": "http", "text": sprintf("%s %s", [method, path]), "method": method, "path": path, "query": {}, "headers": {}},
	"time": {"rfc3339": "", "unix_ms": 0, "weekday": 1, "hour": 12},
}

test_agent_get_allowed_buffered_and_masked if {
	d := custos.decision with input as http_input("agent", "GET", "/v1/customers")
	d.action == "allow"
	d.rule == "custos.agent_read"
	d.record == "buffered"
	{"column": "ssn", "method": "partial"} in d.mask
}

test_agent_post_needs_review if {
	d := custos.decision with input as http_input("agent", "POST", "/v1/invoices")
	d.action == "review"
	d.rule == "custos.http_agent_write"
	d.record == "sync"
}

test_human_post_allowed_sync if {
	d := custos.decision with input as http_input("human", "DELETE", "/v1/invoices/7")
	d.action == "allow"
	d.record == "sync"
	d.mask == []
}

test_regulated_write_reviewed_for_everyone if {
	inp := json.patch(http_input("human", "PUT", "/v1/x"), [{"op": "replace", "path": "/connection/labels", "value": ["regulated"]}])
	d := custos.decision with input as inp
	d.action == "review"
	d.rule == "custos.regulated_write"
}

test_agent_denied_path if {
	d := custos.decision with input as http_input("agent", "GET", "/Admin/users")
	d.action == "deny"
	d.rule == "custos.http_denied_path"
}

test_denied_path_is_a_prefix_of_segments_only if {
	d := custos.decision with input as http_input("agent", "GET", "/administrators")
	d.action == "allow"
}

test_human_may_call_admin if {
	d := custos.decision with input as http_input("human", "GET", "/admin")
	d.action == "allow"
}

test_trace_denied_for_everyone if {
	d := custos.decision with input as http_input("human", "TRACE", "/")
	d.action == "deny"
	d.rule == "custos.http_method"
}

test_encoded_dots_denied if {
	d := custos.decision with input as http_input("human", "GET", "/v1/%2E%2E/admin")
	d.action == "deny"
	d.rule == "custos.http_encoded_path"
}

test_sql_rules_do_not_fire_on_http if {
	d := custos.decision with input as http_input("agent", "OPTIONS", "/")
	d.action == "allow"
}

ws_message(kind, body) := json.patch(http_input(kind, "GET", "/ws"), [
	{"op": "add", "path": "/command/websocket", "value": "message"},
	{"op": "add", "path": "/command/body", "value": body},
])

test_agent_ws_read_message_allowed_and_masked if {
	d := custos.decision with input as ws_message("agent", {"subscribe": "prices", "id": 7})
	d.action == "allow"
	{"column": "ssn", "method": "partial"} in d.mask
}

test_agent_ws_write_message_reviewed if {
	every body in [
		{"action": "delete", "id": 1},
		{"jsonrpc": "2.0", "method": "orders.cancel", "id": 1},
		{"type": "deleteUser"},
		{"type": "subscribe", "payload": {"query": "mutation { drop }"}},
		{"id": 3, "data": {"action": "remove"}},
		{"event": "order:refund"},
	] {
		d := custos.decision with input as ws_message("agent", body)
		d.action == "review"
		d.rule == "custos.http_agent_ws_write"
		d.record == "sync"
	}
}

test_agent_ws_opaque_message_reviewed if {
	every body in ["DELETE /x", ["a"]] {
		d := custos.decision with input as ws_message("agent", body)
		d.action == "review"
		d.rule == "custos.http_agent_ws_opaque"
	}
}

test_human_ws_write_allowed_sync if {
	d := custos.decision with input as ws_message("human", {"action": "update"})
	d.action == "allow"
	d.record == "sync"
}

test_agent_denied_path_variants if {
	every p in ["/admin", "/ADMIN/users", "/admin.json", "/admin%20", "/internal/x"] {
		d := custos.decision with input as http_input("agent", "GET", p)
		d.action == "deny"
		d.rule == "custos.http_denied_path"
	}
}

test_agent_lookalike_paths_allowed if {
	every p in ["/administrators-guide", "/v1/admin", "/internals"] {
		d := custos.decision with input as http_input("agent", "GET", p)
		d.action == "allow"
	}
}
