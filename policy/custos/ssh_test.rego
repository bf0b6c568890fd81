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
