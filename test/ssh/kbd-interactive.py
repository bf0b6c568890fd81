# Logs in to the gateway with keyboard-interactive (the token as the answer to its one prompt), runs a
# command, prints its output and the prompt it was asked; with a wrong answer, prints "refused".
import sys

import paramiko

port, token, command = int(sys.argv[1]), sys.argv[2], sys.argv[3]
t = paramiko.Transport(("127.0.0.1", port))
t.start_client()
prompts = []


def handler(title, instructions, fields):
    prompts.extend(p for p, _ in fields)
    return [token for _ in fields]


try:
    t.auth_interactive("build-host", handler)
except paramiko.AuthenticationException:
    print("refused")
    sys.exit(0)
ch = t.open_session()
ch.exec_command(command)
print(prompts[0].strip() if prompts else "")
print(ch.makefile("r").read().decode(), end="")
t.close()
