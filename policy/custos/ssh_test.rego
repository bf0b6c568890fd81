package custos_test

import data.custos

ssh_exec_input(kind, raw, fields) := {
	"identity": {"subject": "s", "issuer": "i", "groups": [], "kind": kind},
	"connection": {"name": "build-host", "type": "ssh", "labels": []},
	"session": {"id": "1", "client_addr": "127.0.0.1", "started_at": "", "application_name": ""},
	"command": object.union(
		{
			"protocol": "ssh", "text": raw, "channel": "exec", "pty": false, "argv": split(raw, " "),
			"program": split(raw, " ")[0], "simple": true, "operators": [], "redirections": [],
			"redirect_targets": [], "substitutions": [], "expansions": [], "assignments": [],
			"comment": false, "parse_error": null,
		},
		fields,
	),
	"time": {"rfc3339": "", "unix_ms": 0, "weekday": 1, "hour": 12},
}

ssh_input(kind, command) := {
	"identity": {"subject": "s", "issuer": "i", "groups": [], "kind": kind},
	"connection": {"name": "build-host", "type": "ssh", "labels": []},
	"session": {"id": "1", "client_addr": "127.0.0.1", "started_at": "", "application_name": ""},
	"command": object.union({"protocol": "ssh", "text": "x"}, command),
	"time": {"rfc3339": "", "unix_ms": 0, "weekday": 1, "hour": 12},
}

test_agent_read_program_allowed_buffered_masked if {
	d := custos.decision with input as ssh_exec_input("agent", "cat /etc/hostname", {})
	d.action == "allow"
	d.record == "buffered"
	count(d.mask) > 0
}

test_agent_other_program_reviewed if {
	d := custos.decision with input as ssh_exec_input("agent", "rm -f /tmp/x", {})
	d.action == "review"
	d.rule == "custos.ssh_agent_exec"
	d.record == "sync"
}

test_agent_path_to_read_program_reviewed if {
	d := custos.decision with input as ssh_exec_input("agent", "./cat x", {})
	d.action == "review"
}

test_agent_operators_denied if {
	d := custos.decision with input as ssh_exec_input("agent", "cat x", {"simple": false, "operators": [";"]})
	d.action == "deny"
	d.rule == "custos.ssh_shell_syntax"
	contains(d.reason, "control operators")
}

test_agent_substitution_denied if {
	d := custos.decision with input as ssh_exec_input("agent", "echo x", {"simple": false, "substitutions": ["$(id)"]})
	d.action == "deny"
	contains(d.reason, "substitutions")
}

test_agent_parse_error_denied if {
	d := custos.decision with input as ssh_exec_input("agent", "echo x", {"simple": false, "parse_error": "unterminated single quote"})
	d.action == "deny"
	contains(d.reason, "unterminated")
}

test_agent_interpreter_denied if {
	d := custos.decision with input as ssh_exec_input("agent", "/usr/bin/python3 -c x", {})
	d.action == "deny"
	d.rule == "custos.ssh_denied_program"
}

test_agent_shell_denied if {
	d := custos.decision with input as ssh_input("agent", {"channel": "shell", "pty": true, "term": "xterm"})
	d.action == "deny"
	d.rule == "custos.ssh_agent_shell"
}

test_human_shell_allowed_sync if {
	d := custos.decision with input as ssh_input("human", {"channel": "shell", "pty": true, "term": "xterm"})
	d.action == "allow"
	d.record == "sync"
	d.mask == []
}

test_human_exec_with_operators_allowed if {
	d := custos.decision with input as ssh_exec_input("human", "ls", {"simple": false, "operators": ["&&"]})
	d.action == "allow"
}

test_agent_sftp_write_reviewed_read_allowed if {
	w := custos.decision with input as ssh_input("agent", {"channel": "sftp", "sftp_op": "open_write", "path": "/tmp/x"})
	w.action == "review"
	w.rule == "custos.ssh_agent_write"
	r := custos.decision with input as ssh_input("agent", {"channel": "sftp", "sftp_op": "list", "path": "/tmp"})
	r.action == "allow"
}

test_ssh_without_channel_unclassified_for_agents if {
	d := custos.decision with input as ssh_input("agent", {})
	d.action == "deny"
	d.rule == "custos.agent_unclassified"
}

forward_input(groups) := object.union(ssh_input("human", {"channel": "direct-tcpip", "dest_host": "db.internal", "dest_port": 5432}), {"identity": {"subject": "s", "issuer": "i", "groups": groups, "kind": "human"}})

forward_list := [{"groups": ["sre"], "host": "db.internal", "port": 5432}]

test_forwarding_refused_by_default if {
	d := custos.decision with input as forward_input(["sre"])
	d.action == "deny"
	d.rule == "custos.ssh_forwarding"
}

test_forwarding_allowed_for_a_listed_destination_and_group if {
	d := custos.decision with input as forward_input(["sre"]) with data.custos.lists.ssh.forward_allowed as forward_list
	d.action == "allow"
	d.record == "sync"
}

test_forwarding_refused_for_another_group_port_or_host if {
	other_group := custos.decision with input as forward_input(["dev"]) with data.custos.lists.ssh.forward_allowed as forward_list
	other_group.rule == "custos.ssh_forwarding"
	other_port := custos.decision with input as object.union(forward_input(["sre"]), {"command": {"dest_port": 5433}}) with data.custos.lists.ssh.forward_allowed as forward_list
	other_port.rule == "custos.ssh_forwarding"
	other_host := custos.decision with input as object.union(forward_input(["sre"]), {"command": {"dest_host": "db.internal.evil"}}) with data.custos.lists.ssh.forward_allowed as forward_list
	other_host.rule == "custos.ssh_forwarding"
}

remote_forward_input(groups) := object.union(ssh_input("human", {"channel": "tcpip-forward", "bind_host": "localhost", "bind_port": 8080}), {"identity": {"subject": "s", "issuer": "i", "groups": groups, "kind": "human"}})

remote_forward_list := [{"groups": ["sre"], "host": "localhost", "port": 8080}]

test_remote_forwarding_refused_by_default if {
	d := custos.decision with input as remote_forward_input(["sre"])
	d.action == "deny"
	d.rule == "custos.ssh_remote_forwarding"
}

test_remote_forwarding_allowed_for_a_listed_bind_and_group if {
	d := custos.decision with input as remote_forward_input(["sre"]) with data.custos.lists.ssh.remote_forward_allowed as remote_forward_list
	d.action == "allow"
	d.record == "sync"
}

test_remote_forwarding_refused_for_another_group_port_or_host if {
	other_group := custos.decision with input as remote_forward_input(["dev"]) with data.custos.lists.ssh.remote_forward_allowed as remote_forward_list
	other_group.rule == "custos.ssh_remote_forwarding"
	other_port := custos.decision with input as object.union(remote_forward_input(["sre"]), {"command": {"bind_port": 0}}) with data.custos.lists.ssh.remote_forward_allowed as remote_forward_list
	other_port.rule == "custos.ssh_remote_forwarding"
	any_host := custos.decision with input as object.union(remote_forward_input(["sre"]), {"command": {"bind_host": ""}}) with data.custos.lists.ssh.remote_forward_allowed as remote_forward_list
	any_host.rule == "custos.ssh_remote_forwarding"
	wildcard := custos.decision with input as object.union(remote_forward_input(["sre"]), {"command": {"bind_host": "0.0.0.0"}}) with data.custos.lists.ssh.remote_forward_allowed as remote_forward_list
	wildcard.rule == "custos.ssh_remote_forwarding"
}

test_local_forward_list_does_not_allow_remote_forwarding if {
	d := custos.decision with input as remote_forward_input(["sre"]) with data.custos.lists.ssh.forward_allowed as remote_forward_list
	d.rule == "custos.ssh_remote_forwarding"
}

test_agents_remote_forwarding_refused_by_default if {
	d := custos.decision with input as object.union(remote_forward_input([]), {"identity": {"kind": "agent"}})
	d.action == "deny"
}

session_request_input(kind, groups, request) := object.union(ssh_input(kind, object.union({"channel": "session", "request": request}, session_request_fields[request])), {"identity": {"subject": "s", "issuer": "i", "groups": groups, "kind": kind}})

session_request_fields := {
	"auth-agent-req": {},
	"x11-req": {"x11_single": false, "x11_auth_protocol": "MIT-MAGIC-COOKIE-1", "x11_screen": 0},
}

groups_list := [{"groups": ["sre"]}]

test_agent_forwarding_refused_by_default if {
	d := custos.decision with input as session_request_input("human", ["sre"], "auth-agent-req")
	d.action == "deny"
	d.rule == "custos.ssh_agent_forwarding"
}

test_x11_refused_by_default if {
	d := custos.decision with input as session_request_input("human", ["sre"], "x11-req")
	d.action == "deny"
	d.rule == "custos.ssh_x11"
}

test_agent_forwarding_allowed_for_a_listed_group if {
	d := custos.decision with input as session_request_input("human", ["dev", "sre"], "auth-agent-req") with data.custos.lists.ssh.agent_forward_allowed as groups_list
	d.action == "allow"
	d.record == "sync"
	count(d.mask) == 0
}

test_x11_allowed_for_a_listed_group if {
	d := custos.decision with input as session_request_input("human", ["sre"], "x11-req") with data.custos.lists.ssh.x11_allowed as groups_list
	d.action == "allow"
	d.record == "sync"
}

test_agent_forwarding_and_x11_refused_for_another_group if {
	agent_fwd := custos.decision with input as session_request_input("human", ["dev"], "auth-agent-req") with data.custos.lists.ssh.agent_forward_allowed as groups_list
	agent_fwd.rule == "custos.ssh_agent_forwarding"
	x11 := custos.decision with input as session_request_input("human", ["dev"], "x11-req") with data.custos.lists.ssh.x11_allowed as groups_list
	x11.rule == "custos.ssh_x11"
	no_groups := custos.decision with input as session_request_input("human", [], "x11-req") with data.custos.lists.ssh.x11_allowed as groups_list
	no_groups.rule == "custos.ssh_x11"
}

test_each_list_allows_only_its_own_request if {
	x11_by_agent_list := custos.decision with input as session_request_input("human", ["sre"], "x11-req") with data.custos.lists.ssh.agent_forward_allowed as groups_list
	x11_by_agent_list.rule == "custos.ssh_x11"
	agent_by_x11_list := custos.decision with input as session_request_input("human", ["sre"], "auth-agent-req") with data.custos.lists.ssh.x11_allowed as groups_list
	agent_by_x11_list.rule == "custos.ssh_agent_forwarding"
	agent_by_forward_list := custos.decision with input as session_request_input("human", ["sre"], "auth-agent-req") with data.custos.lists.ssh.forward_allowed as [{"groups": ["sre"], "host": "h", "port": 1}]
	agent_by_forward_list.rule == "custos.ssh_agent_forwarding"
}

test_masked_identities_never_get_agent_forwarding_or_x11 if {
	agents_listed := [{"groups": ["agents"]}]
	agent_fwd := custos.decision with input as session_request_input("agent", ["agents"], "auth-agent-req") with data.custos.lists.ssh.agent_forward_allowed as agents_listed
	agent_fwd.action == "deny"
	agent_fwd.rule == "custos.ssh_agent_forwarding"
	x11 := custos.decision with input as session_request_input("agent", ["agents"], "x11-req") with data.custos.lists.ssh.x11_allowed as agents_listed
	x11.action == "deny"
	x11.rule == "custos.ssh_x11"
	local_mask := custos.decision with input as session_request_input("human", ["sre"], "x11-req") with data.custos.lists.ssh.x11_allowed as groups_list with data.custos.local.mask as [{"column": "ssn", "method": "redact"}]
	local_mask.action == "deny"
	local_mask.rule == "custos.ssh_x11"
}
