# Compares the direct and gateway runs of each driver suite written by bench/driver-suites/run: counts per
# route and every test whose outcome differs (the differences are what the report must explain).
import os
import sys
import xml.etree.ElementTree as ET

out = sys.argv[1]


def junit(path):
    results = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            results[name] = "fail"
        elif case.find("skipped") is not None:
            results[name] = "skip"
        else:
            results[name] = "pass"
    return results


def tsv(path):
    return dict(line.rstrip("\n").split("\t") for line in open(path) if line.strip())


for suite, reader, ext in (("psycopg", junit, "xml"), ("node-postgres", tsv, "tsv")):
    paths = [os.path.join(out, f"{suite}-{route}.{ext}") for route in ("direct", "gateway")]
    if not all(os.path.exists(p) for p in paths):
        continue
    direct, gateway = (reader(p) for p in paths)
    for route, res in (("direct", direct), ("gateway", gateway)):
        counts = {k: sum(1 for v in res.values() if v == k) for k in ("pass", "fail", "skip")}
        print(f"{suite} {route}: {counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped")
    diff = sorted(n for n in set(direct) | set(gateway) if direct.get(n) != gateway.get(n))
    print(f"{suite}: {len(diff)} tests differ")
    for n in diff:
        print(f"  {direct.get(n, '-')} -> {gateway.get(n, '-')}  {n}")
