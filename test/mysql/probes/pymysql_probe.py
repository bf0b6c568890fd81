"""PyMySQL through the gateway: connects over TLS with the token as the password, runs the statements given
as JSON on stdin, prints one JSON object per statement: rows (as strings) or the MySQL error number."""
import json
import ssl
import sys

import pymysql

port, token = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
conn = pymysql.connect(host="127.0.0.1", port=port, user="agent", password=token, database="loans", ssl=ctx)
out = []
for item in json.load(sys.stdin):
    sql, params = item["sql"], item.get("params")
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            rows = cur.fetchall()
        conn.commit()
        out.append({"rows": [[None if v is None else str(v) for v in r] for r in rows]})
    except pymysql.MySQLError as e:
        out.append({"errno": e.args[0], "message": str(e.args[1]) if len(e.args) > 1 else ""})
print(json.dumps(out))
conn.close()
