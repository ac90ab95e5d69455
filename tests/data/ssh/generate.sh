#!/bin/sh
# Regenerates the SSH key fixtures used by tests/unit/test_ssh_key.c. Every encrypted or
# re-encoded file holds the same key as its unencrypted original, so tests can compare secrets.
set -eu
cd "$(dirname "$0")"
pass=fleet-test-passphrase
rm -f id_* ecdsa_* rsa1024_*

ssh-keygen -q -t ed25519 -N '' -C test -f id_ed25519
for c in aes256-ctr aes128-ctr aes192-ctr aes128-cbc aes256-cbc aes128-gcm@openssh.com \
	aes256-gcm@openssh.com chacha20-poly1305@openssh.com; do
	f=id_ed25519_enc_${c%%@*}
	cp id_ed25519 "$f"
	ssh-keygen -q -p -P '' -N "$pass" -Z "$c" -f "$f" >/dev/null
done
# One bcrypt round: cheap enough for the tests that unlock hundreds of corrupted copies.
for c in aes256-ctr aes256-gcm@openssh.com chacha20-poly1305@openssh.com; do
	f=id_ed25519_enc_rounds1_${c%%@*}
	cp id_ed25519 "$f"
	ssh-keygen -q -p -P '' -N "$pass" -a 1 -Z "$c" -f "$f" >/dev/null
done

ssh-keygen -q -t rsa -b 3072 -N '' -C test -f id_rsa
cp id_rsa id_rsa_enc_aes256-ctr
ssh-keygen -q -p -P '' -N "$pass" -f id_rsa_enc_aes256-ctr >/dev/null
cp id_rsa id_rsa_pem
ssh-keygen -q -p -P '' -N '' -m PEM -f id_rsa_pem >/dev/null
cp id_rsa id_rsa_pkcs8
ssh-keygen -q -p -P '' -N '' -m PKCS8 -f id_rsa_pkcs8 >/dev/null
cp id_rsa id_rsa_pem_enc
ssh-keygen -q -p -P '' -N "$pass" -m PEM -f id_rsa_pem_enc >/dev/null

openssl genpkey -algorithm ed25519 -out id_ed25519_pkcs8 2>/dev/null
chmod 600 id_ed25519_pkcs8
# ssh-keygen cannot read PKCS#8 Ed25519, so the .pub is assembled from the raw public key:
# string "ssh-ed25519", string key (RFC 8709).
{
	printf 'ssh-ed25519 '
	{
		printf '\000\000\000\013ssh-ed25519\000\000\000\040'
		openssl pkey -in id_ed25519_pkcs8 -pubout -outform DER | tail -c 32
	} | base64 -w0
	printf ' test\n'
} >id_ed25519_pkcs8.pub

ssh-keygen -q -t ecdsa -N '' -C test -f ecdsa_key
ssh-keygen -q -t rsa -b 1024 -N '' -C test -f rsa1024_key

for k in id_ed25519 id_rsa id_ed25519_pkcs8; do
	ssh-keygen -l -E sha256 -f "$k.pub" | cut -d' ' -f2 >"$k.pub.sha256"
done
