# Logs in to the gateway with an ed25519 key and an OpenSSH certificate as given, without checking the
# certificate first (OpenSSH's client refuses to send one whose CA signature fails; an attacker's client
# sends it anyway), runs a command and prints its output; prints "refused" when the gateway refuses.
# With a third file, signs with that other private key while presenting the certificate.
import sys

import paramiko
from paramiko.pkey import PublicBlob

port, key_file, cert_file, command = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
key = paramiko.Ed25519Key.from_private_key_file(key_file)
# Set directly: load_certificate() would refuse a certificate of another key.
key.public_blob = PublicBlob.from_file(cert_file)
t = paramiko.Transport(("127.0.0.1", port))
t.start_client()
try:
    t.auth_publickey("build-host", key)
except paramiko.AuthenticationException:
    print("refused")
    sys.exit(0)
ch = t.open_session()
ch.exec_command(command)
print(ch.makefile("r").read().decode(), end="")
t.close()
