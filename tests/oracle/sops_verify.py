#!/usr/bin/env python3
"""An independent reader of sops files, for fleet's tests.

Written from sops' rules, not from fleet's code: it finds the data key with the
reference `age` CLI (each key group's entry, Shamir shares combined here over GF(2^8)
with log/exp tables), decrypts every ENC[AES256_GCM,...] value with the key path as
additional data, recomputes the SHA-512 MAC over the values in document order with
sops' string forms (booleans True/False, floats as Go's strconv 'f' -1, ints in
decimal) and checks it against the stored MAC (encrypted with lastmodified as
additional data), and checks that exactly the values the metadata's suffix and regex
rules select are encrypted.

  sops_verify.py decrypt --type T -i IDENTITY [-i IDENTITY...] FILE
      prints JSON: {"tree", "encrypted", "clear", "data_key", "key_groups",
      "groups_opened", "shamir_threshold", "metadata"}; exits 1 on any failure.
  sops_verify.py plain --type T FILE
      prints the plaintext file's tree as the same JSON "tree".

T is yaml, json, dotenv, ini or binary. Comments are not part of the tree.
"""
import argparse
import base64
import hashlib
import json
import re
import subprocess
import sys
from decimal import Decimal

import yaml
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class Fail(Exception):
    pass


# --- YAML as sops reads it (go-yaml v3: YAML 1.2 core schema) -------------------------


class CoreLoader(yaml.SafeLoader):
    pass


CoreLoader.yaml_implicit_resolvers = {}
for tag, pattern, first in [
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        list("-+.0123456789"),
    ),
]:
    CoreLoader.add_implicit_resolver(tag, re.compile(pattern), first)


def _bool(loader, node):
    return loader.construct_scalar(node).lower() == "true"


def _int(loader, node):
    v = loader.construct_scalar(node)
    if v.startswith("0o"):
        return int(v[2:], 8)
    if v.startswith("0x"):
        return int(v[2:], 16)
    return int(v)


CoreLoader.add_constructor("tag:yaml.org,2002:bool", _bool)
CoreLoader.add_constructor("tag:yaml.org,2002:int", _int)


def load_yaml(text):
    return [d for d in yaml.load_all(text, Loader=CoreLoader) if d is not None]


# --- the flat stores ----------------------------------------------------------------


def load_dotenv(text):
    # sops stores/dotenv: KEY=VALUE lines, "#" comments, "\n" escapes newlines.
    out = {}
    for line in text.split("\n"):
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise Fail(f"invalid dotenv line: {line!r}")
        k, v = line.split("=", 1)
        out[k] = v.replace("\\n", "\n")
    return [out]


def load_ini(text):
    # [section] headers, key = value lines, ";" and "#" comments.
    out, section = {}, None
    for raw in text.split("\n"):
        line = raw.strip()
        if not line or line[0] in ";#":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = out.setdefault(line[1:-1], {})
            continue
        if "=" not in line or section is None:
            raise Fail(f"invalid ini line: {raw!r}")
        k, v = line.split("=", 1)
        section[k.strip()] = v.strip()
    return [out]


def unflatten(flat):
    # sops stores/flatten.go: "__map_" and "__list_N" separators.
    root = {}
    for key, value in flat.items():
        tokens = re.split(r"(__map_|__list_)", key)
        node, kind, name = root, "map", tokens[0]
        path = [("map", tokens[0])]
        for i in range(1, len(tokens), 2):
            path.append(("list" if tokens[i] == "__list_" else "map", tokens[i + 1]))
        for depth, (kind, name) in enumerate(path):
            k = int(name) if kind == "list" else name
            last = depth == len(path) - 1
            if last:
                node[k] = value
            else:
                node = node.setdefault(k, {})
    return _lists(root)


def _lists(node):
    if not isinstance(node, dict):
        return node
    if node and all(isinstance(k, int) for k in node):
        if sorted(node) != list(range(len(node))):
            raise Fail("metadata list with missing items")
        return [_lists(node[i]) for i in range(len(node))]
    return {k: _lists(v) for k, v in node.items()}


def load(kind, raw):
    """The documents of a file and its metadata map (None for a plaintext file)."""
    if kind == "binary":
        try:
            docs = [json.loads(raw.decode())]
        except (UnicodeDecodeError, json.JSONDecodeError):
            return [{"data": raw}], None
        if not isinstance(docs[0], dict) or "sops" not in docs[0]:
            return [{"data": raw}], None
        md = docs[0].pop("sops")
        return docs, md
    text = raw.decode()
    if kind == "yaml":
        docs = load_yaml(text)
    elif kind == "json":
        docs = [json.loads(text)]
    elif kind == "dotenv":
        docs = load_dotenv(text)
    elif kind == "ini":
        docs = load_ini(text)
    else:
        raise Fail(f"unknown type {kind}")
    md = None
    if kind == "dotenv":
        flat = {k[5:]: v for k, v in docs[0].items() if k.startswith("sops_")}
        docs[0] = {k: v for k, v in docs[0].items() if not k.startswith("sops_")}
        md = unflatten(flat) if flat else None
    elif kind == "ini":
        sec = docs[0].pop("sops", None)
        if sec is not None:
            md = unflatten({k: v.replace("\\n", "\n") for k, v in sec.items()})
    else:
        for d in docs:
            if isinstance(d, dict) and "sops" in d:
                m = d.pop("sops")
                md = md if md is not None else m
    return docs, md


# --- values -------------------------------------------------------------------------

ENC = re.compile(r"^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]$", re.S)


def go_float(f):
    # strconv.FormatFloat(f, 'f', -1, 64): shortest round trip, never an exponent.
    s = format(Decimal(repr(f)), "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


def mac_bytes(v):
    # sops.go ToBytes
    if isinstance(v, bool):
        return b"True" if v else b"False"
    if isinstance(v, int):
        return str(v).encode()
    if isinstance(v, float):
        return go_float(v).encode()
    if isinstance(v, bytes):
        return v
    if isinstance(v, str):
        return v.encode("utf-8", "surrogateescape")
    raise Fail(f"cannot hash a {type(v).__name__}")


GO_BOOL = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
           "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}


def decrypt_value(s, key, aad):
    m = ENC.match(s)
    if not m:
        raise Fail(f"{aad}: not an ENC[AES256_GCM,...] value")
    data, iv, tag = (base64.b64decode(x, validate=True) for x in m.group(1, 2, 3))
    typ = m.group(4)
    try:
        plain = AESGCM(key).decrypt(iv, data + tag, aad.encode())
    except Exception:
        raise Fail(f"{aad}: does not decrypt (wrong key, or value or path changed)")
    text = plain.decode("utf-8", "surrogateescape")
    if typ == "str":
        return text
    if typ == "int":
        return int(text)
    if typ == "float":
        return float(text)
    if typ == "bool":
        if text not in GO_BOOL:
            raise Fail(f"{aad}: bool value {text!r} is not one Go's ParseBool reads")
        return GO_BOOL[text]
    if typ == "bytes":
        return plain
    raise Fail(f"{aad}: unknown type {typ}")


# --- the rules ------------------------------------------------------------------------


RULES = ["unencrypted_suffix", "encrypted_suffix", "unencrypted_regex", "encrypted_regex",
         "unencrypted_comment_regex", "encrypted_comment_regex"]


def should_encrypt(md, path):
    # sops.go shouldBeEncrypted, for the key-based rules; stores.go: a file that names
    # no rule leaves keys ending in "_unencrypted" in clear.
    if not any(md.get(r) for r in RULES):
        md = dict(md, unencrypted_suffix="_unencrypted")
    enc = True
    if md.get("unencrypted_suffix"):
        if any(p.endswith(md["unencrypted_suffix"]) for p in path):
            enc = False
    if md.get("encrypted_suffix"):
        enc = any(p.endswith(md["encrypted_suffix"]) for p in path)
    if md.get("unencrypted_regex"):
        if any(re.search(md["unencrypted_regex"], p) for p in path):
            enc = False
    if md.get("encrypted_regex"):
        enc = any(re.search(md["encrypted_regex"], p) for p in path)
    return enc


def walk(docs, md, key, report):
    """Decrypts in place, hashing as sops.go Tree.Decrypt does; returns the MAC hex."""
    h = hashlib.sha512()
    mac_only = md.get("mac_only_encrypted") in (True, "true")
    if mac_only:
        h.update(hashlib.sha256(b"sops").digest())
    comment_rules = md.get("unencrypted_comment_regex") or md.get("encrypted_comment_regex")

    def leaf(v, path):
        aad = ":".join(path) + ":"
        is_enc = isinstance(v, str) and v.startswith("ENC[")
        if v == "":
            report["empty"].append(aad)
        elif not comment_rules and is_enc != should_encrypt(md, path):
            raise Fail(f"{aad}: is {'encrypted' if is_enc else 'in clear'}, but the "
                       f"metadata's rules say it should {'not ' if is_enc else ''}be")
        if is_enc:
            v = decrypt_value(v, key, aad)
            report["encrypted"].append(aad)
        elif v != "":
            report["clear"].append(aad)
        if not mac_only or is_enc:
            h.update(mac_bytes(v))
        return v

    def value(v, path):
        if isinstance(v, dict):
            return {k: value(x, path + [str(k)]) for k, x in v.items()}
        if isinstance(v, list):
            return [value(x, path) for x in v]
        if v is None:
            return None  # nil: neither encrypted nor hashed
        return leaf(v, path)

    out = [value(d, []) for d in docs]
    docs[:] = out
    return h.hexdigest().upper()


# --- the data key -------------------------------------------------------------------

# GF(2^8) with the AES polynomial via log/exp tables over the generator 3.
EXP, LOG = [0] * 512, [0] * 256
_x = 1
for _i in range(255):
    EXP[_i] = _x
    LOG[_x] = _i
    _x ^= (_x << 1) ^ (0x11B if _x & 0x80 else 0)
    _x &= 0xFF
for _i in range(255, 512):
    EXP[_i] = EXP[_i - 255]


def gmul(a, b):
    return 0 if a == 0 or b == 0 else EXP[LOG[a] + LOG[b]]


def gdiv(a, b):
    return 0 if a == 0 else EXP[(LOG[a] - LOG[b]) % 255]


def combine(shares):
    # Lagrange at 0; each share is y bytes followed by its x coordinate.
    xs = [s[-1] for s in shares]
    if len(set(xs)) != len(xs):
        raise Fail("two Shamir shares have the same x")
    out = bytearray()
    for b in range(len(shares[0]) - 1):
        acc = 0
        for i, s in enumerate(shares):
            basis = 1
            for j, xj in enumerate(xs):
                if j != i:
                    basis = gmul(basis, gdiv(xj, xs[i] ^ xj))
            acc ^= gmul(s[b], basis)
        out.append(acc)
    return bytes(out)


KEY_TYPES = ["age", "pgp", "kms", "gcp_kms", "azure_kv", "hc_vault", "hckms"]


def groups_of(md):
    if any(md.get(t) for t in KEY_TYPES):
        return [md]
    return md.get("key_groups") or []


def age_open(enc, identities):
    args = ["age", "-d"]
    for i in identities:
        args += ["-i", i]
    r = subprocess.run(args, input=enc.encode(), capture_output=True)
    return r.stdout if r.returncode == 0 else None


def data_key(md, identities, report):
    groups = groups_of(md)
    if not groups:
        raise Fail("no key groups in the metadata")
    parts = []
    for g in groups:
        for e in g.get("age") or []:
            got = age_open(e["enc"], identities)
            if got is not None:
                parts.append(got)
                break
    threshold = int(md.get("shamir_threshold") or 0)
    report.update(key_groups=len(groups), groups_opened=len(parts), shamir_threshold=threshold)
    if len(groups) == 1:
        if not parts:
            raise Fail("no identity opens the data key")
        key = parts[0]
    else:
        need = threshold or len(groups)
        if len(parts) < need:
            raise Fail(f"only {len(parts)} of the {need} key groups needed could be opened")
        if any(len(p) != 33 for p in parts):
            raise Fail("a Shamir share is not 33 bytes")
        key = combine(parts)
    if len(key) != 32:
        raise Fail(f"the data key is {len(key)} bytes")
    return key


# --- output -------------------------------------------------------------------------


def as_json(docs, kind):
    def conv(v):
        if isinstance(v, bytes):
            return {"base64": base64.b64encode(v).decode()}
        if isinstance(v, dict):
            return {str(k): conv(x) for k, x in v.items()}
        if isinstance(v, list):
            return [conv(x) for x in v]
        return v

    if kind == "binary":
        d = docs[0]["data"]
        return [{"data": {"base64": base64.b64encode(
            d if isinstance(d, bytes) else d.encode("utf-8", "surrogateescape")).decode()}}]
    return [conv(d) for d in docs]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["decrypt", "plain"])
    ap.add_argument("--type", required=True)
    ap.add_argument("-i", "--identity", action="append", default=[])
    ap.add_argument("file")
    a = ap.parse_args()
    raw = open(a.file, "rb").read()
    try:
        docs, md = load(a.type, raw)
        if a.mode == "plain":
            if md is not None:
                raise Fail("the plaintext file has sops metadata")
            print(json.dumps({"tree": as_json(docs, a.type)}, sort_keys=False))
            return 0
        if md is None:
            raise Fail("no sops metadata")
        report = {"encrypted": [], "clear": [], "empty": []}
        key = data_key(md, a.identity, report)
        computed = walk(docs, md, key, report)
        stored = decrypt_value(md["mac"], key, str(md["lastmodified"]))
        if stored != computed:
            raise Fail("MAC mismatch: the stored MAC is not the SHA-512 of the values")
        for k in ("encrypted", "clear", "empty"):
            report[k].sort()
        report.update(tree=as_json(docs, a.type), data_key=key.hex(),
                      metadata={k: v for k, v in md.items()
                                if k not in KEY_TYPES and k != "key_groups"})
        print(json.dumps(report, sort_keys=True))
        return 0
    except Fail as e:
        print(f"sops_verify: {a.file}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
