# Opens what OpenSSH's clients never send, through the gateway, and prints one JSON line of outcomes:
# an unknown channel type, an unknown global request, an unknown subsystem, an env request, and then an
# ordinary exec on the same connection (the connection must survive the refusals).
import json
import sys

import paramiko

port, token, command = int(sys.argv[1]), sys.argv[2], sys.argv[3]
t = paramiko.Transport(("127.0.0.1", port))
t.connect(username="build-host", password=token)
out = {}
try:
    t.open_channel("custos-bogus@example.com")
    out["unknown_channel"] = "opened"
except paramiko.ChannelException as e:
    out["unknown_channel"] = "refused %d" % e.code
out["global_request"] = "accepted" if t.global_request("bogus@example.com", wait=True) else "refused"
try:
    t.open_channel("direct-tcpip", ("127.0.0.1", 22), ("127.0.0.1", 1))
    out["direct_tcpip"] = "opened"
except paramiko.ChannelException as e:
    out["direct_tcpip"] = "refused %d" % e.code
ch = t.open_session()
try:
    ch.invoke_subsystem("bogus")
    out["subsystem"] = "accepted"
except paramiko.SSHException:
    out["subsystem"] = "refused"
ch = t.open_session()
ch.set_environment_variable("LD_PRELOAD", "/tmp/x.so")
ch.exec_command(command)
out["exec_stdout"] = ch.makefile("r").read().decode()
out["exec_status"] = ch.recv_exit_status()
t.close()
print(json.dumps(out))
