#!/usr/bin/env python3
# Independent verifier of a Custos evidence bundle. Python 3 standard library only, and no code shared with
# the gateway that wrote the bundle: it re-derives everything from the bytes in the bundle.
#
#   python3 verify.py BUNDLE.tar.gz [--public-key FILE] [--json]
#   python3 verify.py --self-test          (RFC 8032 section 7.1 vectors against the Ed25519 code below)
#
# It checks: the manifest's Ed25519 signature and every file's SHA-256; each event's leaf hash,
# SHA-256(0x00 || body), recomputed from the logged body bytes (RFC 6962 section 2.1), and that the
# decoded JSON beside it says what the body says; each event's inclusion proof against the last checkpoint
# (RFC 9162 section 2.1.3.2); each consistency proof between consecutive checkpoints (RFC 9162 section
# 2.1.4.2); each checkpoint's signed note (C2SP signed-note, Ed25519); each recording's SHA-256 against
# the recording.batch event that committed it. Exit 0 when all holds, 1 naming every failure.
import base64
import hashlib
import io
import json
import os
import sys
import tarfile

# ---------------------------------------------------------------- Ed25519 verification, RFC 8032 section 5.1
P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = (-121665 * pow(121666, P - 2, P)) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _inv(x):
    return pow(x, P - 2, P)


def _recover_x(y, sign):
    # section 5.1.3 decoding, steps 2-4
    if y >= P:
        return None
    x2 = (y * y - 1) * _inv(D * y * y + 1) % P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


_GY = 4 * _inv(5) % P
_GX = _recover_x(_GY, 0)
# Extended homogeneous coordinates (X, Y, Z, T), x = X/Z, y = Y/Z, x*y = T/Z (section 5.1.4).
G = (_GX, _GY, 1, _GX * _GY % P)
IDENTITY = (0, 1, 1, 0)


def _add(p1, p2):
    a = (p1[1] - p1[0]) * (p2[1] - p2[0]) % P
    b = (p1[1] + p1[0]) * (p2[1] + p2[0]) % P
    c = 2 * p1[3] * p2[3] * D % P
    d = 2 * p1[2] * p2[2] % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _mul(s, pt):
    q = IDENTITY
    while s > 0:
        if s & 1:
            q = _add(q, pt)
        pt = _add(pt, pt)
        s >>= 1
    return q


def _equal(p1, p2):
    # x1/z1 == x2/z2 and y1/z1 == y2/z2
    return (p1[0] * p2[2] - p2[0] * p1[2]) % P == 0 and (p1[1] * p2[2] - p2[1] * p1[2]) % P == 0


def _decompress(b):
    if len(b) != 32:
        return None
    y = int.from_bytes(b, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % P)


def ed25519_verify(public, message, signature):
    """section 5.1.7: [S]B == R + [SHA-512(R || A || M)]A, with canonical S < L and valid encodings."""
    if len(public) != 32 or len(signature) != 64:
        return False
    a = _decompress(public)
    r = _decompress(signature[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= L:
        return False
    k = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % L
    return _equal(_mul(s, G), _add(r, _mul(k, a)))


# RFC 8032 section 7.1, TEST 1, 2, 3 (public key, message, signature).
RFC8032_VECTORS = [
    (
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]


def self_test():
    ok = True
    for pub, msg, sig in RFC8032_VECTORS:
        pub, msg, sig = bytes.fromhex(pub), bytes.fromhex(msg), bytes.fromhex(sig)
        good = ed25519_verify(pub, msg, sig)
        bad_msg = ed25519_verify(pub, msg + b"x", sig)
        flipped = bytearray(sig)
        flipped[5] ^= 1
        bad_sig = ed25519_verify(pub, msg, bytes(flipped))
        ok = ok and good and not bad_msg and not bad_sig
    return ok


# ---------------------------------------------------------------- msgpack decoding (the event bodies)
class MsgpackError(Exception):
    pass


def msgpack_decode(data):
    value, end = _mp(data, 0, 0)
    if end != len(data):
        raise MsgpackError("trailing bytes after the value")
    return value


def _need(data, pos, n):
    if pos + n > len(data):
        raise MsgpackError("truncated")
    return data[pos : pos + n]


def _be(data, pos, n):
    return int.from_bytes(_need(data, pos, n), "big")


def _mp(data, pos, depth):
    if depth > 200:
        raise MsgpackError("nested too deep")
    b = _need(data, pos, 1)[0]
    pos += 1
    if b <= 0x7F:
        return b, pos
    if b >= 0xE0:
        return b - 0x100, pos
    if 0x80 <= b <= 0x8F:
        return _map(data, pos, b & 0x0F, depth)
    if 0x90 <= b <= 0x9F:
        return _arr(data, pos, b & 0x0F, depth)
    if 0xA0 <= b <= 0xBF:
        return _str(data, pos, b & 0x1F)
    if b == 0xC0:
        return None, pos
    if b == 0xC2:
        return False, pos
    if b == 0xC3:
        return True, pos
    if b in (0xC4, 0xC5, 0xC6):
        w = {0xC4: 1, 0xC5: 2, 0xC6: 4}[b]
        n = _be(data, pos, w)
        return {"$base64": base64.b64encode(_need(data, pos + w, n)).decode()}, pos + w + n
    if b in (0xC7, 0xC8, 0xC9):
        w = {0xC7: 1, 0xC8: 2, 0xC9: 4}[b]
        n = _be(data, pos, w)
        t = int.from_bytes(_need(data, pos + w, 1), "big", signed=True)
        return _ext(t, _need(data, pos + w + 1, n)), pos + w + 1 + n
    if b == 0xCA:
        import struct

        return struct.unpack(">f", _need(data, pos, 4))[0], pos + 4
    if b == 0xCB:
        import struct

        return struct.unpack(">d", _need(data, pos, 8))[0], pos + 8
    if 0xCC <= b <= 0xCF:
        w = 1 << (b - 0xCC)
        return _be(data, pos, w), pos + w
    if 0xD0 <= b <= 0xD3:
        w = 1 << (b - 0xD0)
        return int.from_bytes(_need(data, pos, w), "big", signed=True), pos + w
    if 0xD4 <= b <= 0xD8:
        n = 1 << (b - 0xD4)
        t = int.from_bytes(_need(data, pos, 1), "big", signed=True)
        return _ext(t, _need(data, pos + 1, n)), pos + 1 + n
    if b in (0xD9, 0xDA, 0xDB):
        w = {0xD9: 1, 0xDA: 2, 0xDB: 4}[b]
        return _str(data, pos + w, _be(data, pos, w))
    if b in (0xDC, 0xDD):
        w = 2 if b == 0xDC else 4
        return _arr(data, pos + w, _be(data, pos, w), depth)
    if b in (0xDE, 0xDF):
        w = 2 if b == 0xDE else 4
        return _map(data, pos + w, _be(data, pos, w), depth)
    raise MsgpackError("reserved byte 0x%02x" % b)


def _ext(t, payload):
    return {"$ext": t, "$base64": base64.b64encode(payload).decode()}


def _str(data, pos, n):
    try:
        return _need(data, pos, n).decode("utf-8"), pos + n
    except UnicodeDecodeError:
        raise MsgpackError("string is not UTF-8")


def _arr(data, pos, n, depth):
    out = []
    for _ in range(n):
        v, pos = _mp(data, pos, depth + 1)
        out.append(v)
    return out, pos


def _map(data, pos, n, depth):
    out = {}
    for _ in range(n):
        k, pos = _mp(data, pos, depth + 1)
        if not isinstance(k, str):
            raise MsgpackError("map key is not a string")
        v, pos = _mp(data, pos, depth + 1)
        out[k] = v
    return out, pos


def same_value(a, b):
    """Structural equality that keeps true apart from 1 (Python's == does not)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


# ---------------------------------------------------------------- RFC 6962 / RFC 9162 Merkle proofs
def sha256(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.digest()


def leaf_hash(entry):
    return sha256(b"\x00", entry)


def node_hash(left, right):
    return sha256(b"\x01", left, right)


def verify_inclusion(index, size, leaf, proof, root):
    # RFC 9162 section 2.1.3.2
    if index < 0 or index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(m, n, old_root, new_root, proof):
    # RFC 9162 section 2.1.4.2
    if m < 0 or m > n:
        return False
    if m == n:
        return not proof and old_root == new_root
    if m == 0:
        return not proof
    path = list(proof)
    if m & (m - 1) == 0:
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


# ---------------------------------------------------------------- C2SP signed notes (checkpoints)
def parse_note(text, public_key):
    """Returns (origin, size, root, time, signature_ok) or raises ValueError on a malformed note."""
    sep = text.find("\n\n")
    if sep < 0:
        raise ValueError("no blank line between body and signatures")
    body = text[: sep + 1]
    lines = body.split("\n")[:-1]
    if len(lines) < 3:
        raise ValueError("body has fewer than 3 lines")
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)
    time = None
    for extra in lines[3:]:
        if extra.startswith("time "):
            time = int(extra[5:])
    ok = False
    for sig_line in text[sep + 2 :].split("\n"):
        if not sig_line.startswith("\u2014 "):
            continue
        name, _, b64 = sig_line[2:].rpartition(" ")
        raw = base64.b64decode(b64)
        key_hash = sha256(name.encode() + b"\n\x01" + public_key)[:4]
        if raw[:4] == key_hash and ed25519_verify(public_key, body.encode(), raw[4:]):
            ok = True
    return origin, size, root, time, ok


# ---------------------------------------------------------------- the bundle
MANIFEST_DOMAIN = b"custos-evidence-manifest/1\n"


def read_bundle(path):
    files = {}
    if os.path.isdir(path):
        for base, _, names in os.walk(path):
            for n in names:
                full = os.path.join(base, n)
                files[os.path.relpath(full, path).replace(os.sep, "/")] = open(full, "rb").read()
    else:
        with tarfile.open(path, "r:*") as tar:
            for m in tar.getmembers():
                if m.isfile():
                    files[m.name] = tar.extractfile(m).read()
    # One top-level folder (evidence/) is the bundle's root.
    roots = {n.split("/", 1)[0] for n in files}
    if len(roots) == 1 and all("/" in n for n in files):
        prefix = roots.pop() + "/"
        files = {n[len(prefix) :]: b for n, b in files.items()}
    return files


def read_public_key(path):
    raw = open(path, "rb").read()
    text = raw.decode("ascii", "ignore").strip()
    if len(raw) == 32:
        return raw
    if "BEGIN PUBLIC KEY" in text:
        b64 = "".join(l for l in text.splitlines() if l and not l.startswith("-----"))
        der = base64.b64decode(b64)
        return der[-32:]
    if text.startswith("{"):
        return bytes.fromhex(json.loads(text)["public_key_hex"])
    try:
        if len(text) == 64:
            return bytes.fromhex(text)
    except ValueError:
        pass
    key = base64.b64decode(text)
    if len(key) != 32:
        raise ValueError("not a 32-byte Ed25519 public key")
    return key


class Report:
    def __init__(self):
        self.failures = []
        self.counts = {
            "events": 0,
            "checkpoints": 0,
            "consistency_proofs": 0,
            "recordings": 0,
            "files": 0,
            "pruned_events": 0,
            "pruned_recordings": 0,
        }

    def fail(self, code, where, reason):
        self.failures.append({"code": code, "where": where, "reason": reason})


def verify(files, trusted_key=None):
    rep = Report()
    manifest_bytes = files.get("MANIFEST.json")
    sig_text = files.get("MANIFEST.sig")
    if manifest_bytes is None or sig_text is None:
        rep.fail("manifest.missing", "MANIFEST.json", "the bundle has no signed manifest")
        return rep, None
    try:
        manifest = json.loads(manifest_bytes)
        signer = bytes.fromhex(manifest["signer"]["public_key_hex"])
        signature = base64.b64decode(sig_text.strip())
    except (ValueError, KeyError, TypeError):
        rep.fail("manifest.invalid", "MANIFEST.json", "the manifest does not parse")
        return rep, None
    if not ed25519_verify(signer, MANIFEST_DOMAIN + manifest_bytes, signature):
        rep.fail("manifest.signature", "MANIFEST.json", "the manifest's signature does not verify")
    if trusted_key is not None and signer != trusted_key:
        rep.fail("key.untrusted", "MANIFEST.json", "the manifest is signed by a key other than the trusted one")
    log_keys = [bytes.fromhex(l["public_key_hex"]) for l in manifest.get("logs", [])]
    if log_keys and signer not in log_keys:
        rep.fail("manifest.signer", "MANIFEST.json", "the manifest's signer is not the key of any log in it")

    listed = manifest.get("files", {})
    for path, digest in sorted(listed.items()):
        data = files.get(path)
        if data is None:
            rep.fail("file.missing", path, "listed in the manifest but absent")
        elif hashlib.sha256(data).hexdigest() != digest:
            rep.fail("file.hash", path, "SHA-256 differs from the manifest")
        rep.counts["files"] += 1
    for path in sorted(files):
        if path not in listed and path not in ("MANIFEST.json", "MANIFEST.sig"):
            rep.fail("file.unlisted", path, "present in the bundle but not in the manifest")

    batch_events = {}
    for log in manifest.get("logs", []):
        verify_log(files, log, trusted_key, rep, batch_events)
    verify_recordings(files, manifest, rep, batch_events)
    return rep, manifest


def _json(files, path, rep, code):
    data = files.get(path)
    if data is None:
        rep.fail(code, path, "file absent")
        return None
    try:
        return json.loads(data)
    except ValueError:
        rep.fail(code, path, "does not parse as JSON")
        return None


def _jsonl(files, path, rep, code):
    data = files.get(path)
    if data is None:
        rep.fail(code, path, "file absent")
        return []
    out = []
    for n, line in enumerate(data.decode("utf-8", "replace").splitlines()):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except ValueError:
            rep.fail(code, "%s line %d" % (path, n + 1), "does not parse as JSON")
    return out


def verify_log(files, log, trusted_key, rep, batch_events):
    log_id = log["log_id"]
    key = bytes.fromhex(log["public_key_hex"])
    base = "logs/%s/" % log_id
    if trusted_key is not None and key != trusted_key:
        rep.fail("key.untrusted", log_id, "the log's key is not the trusted one")

    # Checkpoints: each signed note verifies with the log's key and names this log.
    cps = {}
    for cp in _json(files, base + "checkpoints.json", rep, "checkpoint.missing") or []:
        where = "%s@%s" % (log_id, cp.get("size"))
        try:
            origin, size, root, time, ok = parse_note(cp["note"], key)
        except (ValueError, KeyError, TypeError):
            rep.fail("checkpoint.invalid", where, "the signed note does not parse")
            continue
        if not ok:
            rep.fail("checkpoint.signature", where, "the checkpoint's signature does not verify")
            continue
        if origin != "custos/audit/" + log_id or size != cp.get("size"):
            rep.fail("checkpoint.invalid", where, "the note names another log or size")
            continue
        cps[size] = root
        rep.counts["checkpoints"] += 1
    sizes = log.get("checkpoints", [])
    for s in sizes:
        if s not in cps and not any(f["where"] == "%s@%s" % (log_id, s) for f in rep.failures):
            rep.fail("checkpoint.missing", "%s@%s" % (log_id, s), "listed in the manifest but absent")
    tree_size = log.get("tree_size")

    # Consistency between consecutive checkpoints.
    proofs = {(p["from"], p["to"]): p for p in _json(files, base + "consistency-proofs.json", rep, "consistency.missing") or []}
    for a, b in zip(sizes, sizes[1:]):
        where = "%s@%d-%d" % (log_id, a, b)
        p = proofs.get((a, b))
        if p is None:
            rep.fail("consistency.missing", where, "no consistency proof between these checkpoints")
            continue
        if a in cps and b in cps:
            path = [bytes.fromhex(h) for h in p["proof"]]
            if not verify_consistency(a, b, cps[a], cps[b], path):
                rep.fail("consistency.proof", where, "the later checkpoint does not extend the earlier one")
            else:
                rep.counts["consistency_proofs"] += 1

    # Events: body -> leaf -> inclusion in the tree of the last checkpoint.
    inclusion = {}
    for p in _jsonl(files, base + "inclusion-proofs.jsonl", rep, "inclusion.missing"):
        inclusion[p.get("seq")] = p
    wanted = set(log.get("events", []))
    pruned = set(log.get("pruned_events", []))
    seen = set()
    for line in _jsonl(files, base + "events.jsonl", rep, "event.invalid"):
        seq = line.get("seq")
        where = "%s#%s" % (log_id, seq)
        if seq in seen:
            rep.fail("event.duplicate", where, "the event appears twice")
            continue
        seen.add(seq)
        if seq not in wanted:
            rep.fail("event.unlisted", where, "the event is not in the manifest")
        if bool(line.get("pruned")) != (seq in pruned):
            rep.fail("event.pruned", where, "pruned in the bundle but not in the manifest, or the reverse")
            continue
        if line.get("pruned"):
            # Retention removed the body: the leaf hash alone must still be in the tree.
            try:
                leaf = bytes.fromhex(line.get("leaf_hash", ""))
            except ValueError:
                rep.fail("event.invalid", where, "leaf_hash is not hex")
                continue
            check_inclusion(rep, where, seq, leaf, tree_size, cps, inclusion.get(seq))
            rep.counts["pruned_events"] += 1
            continue
        try:
            body = base64.b64decode(line["body_b64"], validate=True)
        except (ValueError, KeyError, TypeError):
            rep.fail("event.invalid", where, "body_b64 is not base64")
            continue
        leaf = leaf_hash(body)
        if leaf.hex() != line.get("leaf_hash"):
            rep.fail("event.leaf", where, "the body does not hash to the leaf hash beside it")
        try:
            decoded = msgpack_decode(body)
        except MsgpackError as err:
            rep.fail("event.invalid", where, "the body is not msgpack (%s)" % err)
            continue
        if not same_value(decoded, line.get("event")):
            rep.fail("event.json", where, "the decoded JSON differs from the logged body")
        if isinstance(decoded, dict) and decoded.get("type") == "recording.batch":
            batch_events[(log_id, seq)] = decoded
        check_inclusion(rep, where, seq, leaf, tree_size, cps, inclusion.get(seq))
        rep.counts["events"] += 1
    for seq in log.get("events", []):
        if seq not in seen:
            rep.fail("event.missing", "%s#%s" % (log_id, seq), "in the manifest but not in events.jsonl")


def check_inclusion(rep, where, seq, leaf, tree_size, cps, proof):
    if tree_size not in cps:
        rep.fail("inclusion.proof", where, "no verified checkpoint at the tree size %s" % tree_size)
    elif proof is None:
        rep.fail("inclusion.missing", where, "no inclusion proof")
    else:
        path = [bytes.fromhex(h) for h in proof.get("proof", [])]
        if proof.get("tree_size") != tree_size or not verify_inclusion(seq, tree_size, leaf, path, cps[tree_size]):
            rep.fail("inclusion.proof", where, "the inclusion proof does not lead to the checkpoint's root")


def verify_recordings(files, manifest, rep, batch_events):
    for r in manifest.get("recordings", []):
        where = "%s/%s#%s" % (r.get("log_id"), r.get("session_id"), r.get("batch"))
        if r.get("pruned"):
            rep.counts["pruned_recordings"] += 1
            continue
        data = files.get(r.get("path"))
        if data is None:
            rep.fail("recording.missing", where, "the recording file is absent")
            continue
        event = batch_events.get((r.get("log_id"), r.get("event_seq")))
        if event is None:
            rep.fail("recording.event", where, "no verified recording.batch event for it")
            continue
        d = event.get("data", {})
        if (
            hashlib.sha256(data).hexdigest() != d.get("sha256")
            or d.get("batch") != r.get("batch")
            or event.get("sessionId") != r.get("session_id")
        ):
            rep.fail("recording.hash", where, "the recording does not match the SHA-256 its event committed")
            continue
        rep.counts["recordings"] += 1
    listed = {(r.get("log_id"), r.get("event_seq")) for r in manifest.get("recordings", [])}
    for (log_id, seq), event in sorted(batch_events.items()):
        if (log_id, seq) not in listed:
            rep.fail("recording.missing", "%s#%s" % (log_id, seq), "a recording.batch event whose recording is not in the bundle")


def main(argv):
    if "--self-test" in argv:
        ok = self_test()
        print("ed25519 RFC 8032 vectors: %s" % ("ok" if ok else "FAIL"))
        return 0 if ok else 1
    args = [a for a in argv if not a.startswith("--")]
    as_json = "--json" in argv
    trusted = None
    if "--public-key" in argv:
        i = argv.index("--public-key")
        trusted = read_public_key(argv[i + 1])
        args.remove(argv[i + 1])
    if len(args) != 1:
        sys.stderr.write("usage: python3 verify.py BUNDLE.tar.gz|DIR [--public-key FILE] [--json]\n")
        return 2
    if not self_test():
        sys.stderr.write("verify.py: the Ed25519 self-test failed; refusing to judge\n")
        return 2
    rep, manifest = verify(read_bundle(args[0]), trusted)
    me = hashlib.sha256(open(os.path.abspath(__file__), "rb").read()).hexdigest()
    signer = manifest["signer"]["public_key_hex"] if manifest else None
    out = {
        "ok": not rep.failures,
        "verifier": "python",
        "verifier_sha256": me,
        "signer_public_key_hex": signer,
        "key_pinned": trusted is not None,
        "counts": rep.counts,
        "failures": rep.failures,
    }
    if as_json:
        print(json.dumps(out, indent=2, sort_keys=True))
    else:
        for f in rep.failures:
            print("FAIL  %s  %s: %s" % (f["code"], f["where"], f["reason"]))
        c = rep.counts
        print(
            "%s  %d events, %d checkpoints, %d consistency proofs, %d recordings, %d files"
            % ("ok  " if out["ok"] else "FAIL", c["events"], c["checkpoints"], c["consistency_proofs"], c["recordings"], c["files"])
        )
        if signer:
            fp = hashlib.sha256(bytes.fromhex(signer)).hexdigest()
            print("signer key %s (sha256 %s)%s" % (signer, fp, "" if trusted else " - NOT PINNED: compare it with the operator's published key, or pass --public-key"))
        print("verifier sha256 %s" % me)
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
