# SSH sessions (connections of type ssh). The gateway reads each exec string the way the target's shell
# will (src/protocols/ssh/shell-words.ts) and reports argv plus every operator, redirection, substitution,
# expansion, assignment and comment. Agents may run one plain command (`simple`): a program from
# `lists.ssh.read_programs` runs, an interpreter or relay from `lists.ssh.denied_programs` is refused, any
# other program (or a path to one) waits for approval. Agents get exec only: no interactive shell. SFTP
# operations are decided one by one on their normalised path: agents' writes need approval. Humans may
# run what they like; every command is recorded.
package custos

ssh if input.command.protocol == "ssh"

# An SSH command is described by its channel and fields the gateway derived from it: nothing to classify.
classified if {
	ssh
	is_string(input.command.channel)
}

ssh_exec if {
	ssh
	input.command.channel == "exec"
}

ssh_read_program if {
	ssh_exec
	input.command.simple
	input.command.program in data.custos.lists.ssh.read_programs
}

ssh_write if {
	ssh_exec
	not ssh_read_program
}

ssh_write if {
	ssh
	input.command.channel == "shell"
}

ssh_write if {
	ssh
	input.command.channel == "sftp"
	input.command.sftp_op in data.custos.lists.ssh.write_ops
}

# Anything that may change the target is held until its audit record is durable.
any_mutating if ssh_write

specific_denials contains d if some d in ssh_denials

reviews contains r if some r in ssh_reviews

ssh_denials contains {"rule": "custos.ssh_agent_shell", "reason": "agents may run commands (exec) only, not interactive shells"} if {
	ssh
	agent
	input.command.channel == "shell"
}

ssh_denials contains {"rule": "custos.ssh_shell_syntax", "reason": sprintf("agents may run one plain command, without %s", [concat(", ", ssh_syntax)])} if {
	ssh_exec
	agent
	not input.command.simple
}

ssh_denials contains {"rule": "custos.ssh_denied_program", "reason": sprintf("agents may not run %s", [input.command.program])} if {
	ssh_exec
	agent
	ssh_program_base in data.custos.lists.ssh.denied_programs
}

ssh_reviews contains {"rule": "custos.ssh_agent_exec", "reason": sprintf("agents need approval to run %s", [input.command.program])} if {
	ssh_exec
	agent
	input.command.simple
	not ssh_read_program
}

ssh_reviews contains {"rule": "custos.ssh_agent_write", "reason": sprintf("agents need approval for SFTP %s", [input.command.sftp_op])} if {
	ssh
	agent
	input.command.channel == "sftp"
	input.command.sftp_op in data.custos.lists.ssh.write_ops
}

# Forwarding (direct-tcpip, `ssh -L`) is refused unless `lists.ssh.forward_allowed` names the destination
# for one of the identity's groups: entries {"groups": [...], "host": "db.internal", "port": 5432}.
ssh_forward if {
	ssh
	input.command.channel == "direct-tcpip"
}

ssh_write if ssh_forward

ssh_denials contains {"rule": "custos.ssh_forwarding", "reason": sprintf("forwarding to %s:%d is not allowed", [input.command.dest_host, input.command.dest_port])} if {
	ssh_forward
	not ssh_forward_allowed
}

ssh_forward_allowed if {
	some entry in data.custos.lists.ssh.forward_allowed
	entry.host == input.command.dest_host
	entry.port == input.command.dest_port
	some group in input.identity.groups
	group in entry.groups
}

# Remote forwarding (tcpip-forward, `ssh -R`) is refused unless `lists.ssh.remote_forward_allowed` names
# the bind address and port the client asked the target to listen on, as the client sent them (OpenSSH
# sends "localhost" when no bind address is given; port 0 asks the target to choose), for one of the
# identity's groups: entries {"groups": [...], "host": "localhost", "port": 8080}.
ssh_remote_forward if {
	ssh
	input.command.channel == "tcpip-forward"
}

ssh_write if ssh_remote_forward

ssh_denials contains {"rule": "custos.ssh_remote_forwarding", "reason": sprintf("remote forwarding from %s:%d is not allowed", [input.command.bind_host, input.command.bind_port])} if {
	ssh_remote_forward
	not ssh_remote_forward_allowed
}

ssh_remote_forward_allowed if {
	some entry in data.custos.lists.ssh.remote_forward_allowed
	entry.host == input.command.bind_host
	entry.port == input.command.bind_port
	some group in input.identity.groups
	group in entry.groups
}

# Agent forwarding (auth-agent-req@openssh.com, `ssh -A`) and X11 forwarding (x11-req, `ssh -X`/`-Y`)
# are refused unless `lists.ssh.agent_forward_allowed` / `lists.ssh.x11_allowed` name one of the
# identity's groups: entries {"groups": [...]}. Masked identities (agents, and anyone a mask rule
# applies to) never get either, whatever the lists say: the target's agent requests and X11 traffic are
# relayed unmasked.
ssh_agent_forward if {
	ssh
	input.command.channel == "session"
	input.command.request == "auth-agent-req"
}

ssh_x11 if {
	ssh
	input.command.channel == "session"
	input.command.request == "x11-req"
}

ssh_write if ssh_agent_forward

ssh_write if ssh_x11

ssh_denials contains {"rule": "custos.ssh_agent_forwarding", "reason": "agent forwarding is not allowed for this identity"} if {
	ssh_agent_forward
	not ssh_agent_forward_allowed
}

ssh_denials contains {"rule": "custos.ssh_x11", "reason": "X11 forwarding is not allowed for this identity"} if {
	ssh_x11
	not ssh_x11_allowed
}

ssh_agent_forward_allowed if {
	not ssh_masked_identity
	some entry in data.custos.lists.ssh.agent_forward_allowed
	some group in input.identity.groups
	group in entry.groups
}

ssh_x11_allowed if {
	not ssh_masked_identity
	some entry in data.custos.lists.ssh.x11_allowed
	some group in input.identity.groups
	group in entry.groups
}

ssh_masked_identity if agent

ssh_masked_identity if count(mask) > 0

# `/usr/bin/python3` is python3 to the denied list (a path never counts as a read program).
ssh_program_base := base if {
	parts := split(input.command.program, "/")
	base := parts[count(parts) - 1]
}

# What made a command more than one plain program, for the reason.
ssh_syntax contains "control operators" if count(input.command.operators) > 0

ssh_syntax contains "redirections" if count(input.command.redirections) > 0

ssh_syntax contains "substitutions" if count(input.command.substitutions) > 0

ssh_syntax contains "expansions" if count(input.command.expansions) > 0

ssh_syntax contains "variable assignments" if count(input.command.assignments) > 0

ssh_syntax contains "comments" if input.command.comment

ssh_syntax contains sprintf("a parse error (%s)", [input.command.parse_error]) if is_string(input.command.parse_error)
