#!/usr/bin/env python3
"""An independent reader of sops JSON files with string values, for the tests: written from
sops' rules (not from fleet's code), it unwraps the data key with the reference age CLI,
decrypts every ENC[AES256_GCM,...] value with Python's cryptography, recomputes the MAC
(SHA-512 over every value's plaintext, in document order) and checks it against the
stored one. Prints the decrypted document as compact JSON.

    sops_check.py FILE.json AGE_IDENTITY_FILE
"""
import base64
import hashlib
import json
import re
import subprocess
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ENC = re.compile(r"^ENC\[AES256_GCM,data:([^,]*),iv:([^,]+),tag:([^,]+),type:([a-z]+)\]$")


def decrypt(value, key, aad):
    m = ENC.match(value)
    if not m:
        raise SystemExit(f"not a sops value: {value!r}")
    data, iv, tag = (base64.b64decode(x) for x in m.group(1, 2, 3))
    if m.group(4) != "str":
        raise SystemExit(f"only str values are handled here, not {m.group(4)}")
    # sops: AES-256-GCM with a 32-byte IV, the tag after the ciphertext.
    return AESGCM(key).decrypt(iv, data + tag, aad.encode()).decode()


def walk(node, path, key, mac, rules):
    if isinstance(node, dict):
        return {k: walk(v, path + [k], key, mac, rules) for k, v in node.items()}
    if not isinstance(node, str):
        raise SystemExit("only string values are handled here")
    suffix = rules.get("unencrypted_suffix")
    clear = suffix and any(p.endswith(suffix) for p in path)
    plain = node if clear or node == "" else decrypt(node, key, ":".join(path) + ":")
    mac.update(plain.encode())
    return plain


def main():
    path, identity = sys.argv[1:3]
    with open(path) as f:
        doc = json.load(f)
    md = doc.pop("sops")
    others = [r for r in ("encrypted_suffix", "unencrypted_regex", "encrypted_regex",
                          "unencrypted_comment_regex", "encrypted_comment_regex") if md.get(r)]
    if others or md.get("mac_only_encrypted"):
        raise SystemExit(f"only unencrypted_suffix is handled here, not {others}")
    key = None
    for entry in md.get("age") or []:
        r = subprocess.run(["age", "-d", "-i", identity], input=entry["enc"].encode(),
                           capture_output=True)
        if r.returncode == 0:
            key = r.stdout
            break
    if key is None or len(key) != 32:
        raise SystemExit("no age entry opens with the identity")
    mac = hashlib.sha512()
    plain = walk(doc, [], key, mac, md)
    stored = decrypt(md["mac"], key, md["lastmodified"])
    if stored != mac.hexdigest().upper():
        raise SystemExit("MAC mismatch")
    print(json.dumps(plain, separators=(",", ":")))


main()
