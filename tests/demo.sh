#!/usr/bin/env bash
# The built-in demo: builds fleet and runs its main job on local data. For now that
# job is age: keys are generated, a secret is encrypted to two recipients (one made by
# fleet, one by the reference age-keygen) and decrypted again by fleet and by age.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
fleet=$PWD/build/fleet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold= plain=; fi
say() { printf '\n%s$ %s%s\n' "$bold" "$*" "$plain"; }
run() { say "$*"; "$@"; }

run "$fleet" --version
run "$fleet" age keygen -o admin.key
run age-keygen -o host.key
host=$(age-keygen -y host.key)
admin=$("$fleet" age keygen -y admin.key)
printf 'database password: correct horse battery staple\n' >secret.txt
run "$fleet" age -a -r "$admin" -r "$host" -o secret.age secret.txt
run cat secret.age
run "$fleet" age -d -i admin.key secret.age
say "age -d -i host.key secret.age   # the reference tool reads fleet's file"
age -d -i host.key secret.age
say "age -r <admin> secret.txt | fleet age -d -i admin.key   # and the other way round"
age -r "$admin" secret.txt | "$fleet" age -d -i admin.key
say "fleet age -d -i host.key <tampered file>   # a damaged file is refused"
# change one character of the last armored line: the payload's authentication tag
awk '{ l[NR] = $0 } END { for (i = 1; i <= NR; i++) { if (i == NR - 1) l[i] = (substr(l[i], 1, 1) == "A" ? "B" : "A") substr(l[i], 2); print l[i] } }' secret.age >tampered.age
"$fleet" age -d -i host.key tampered.age || echo "(exit $?)"
printf '\nDemo finished: fleet and age read each other'"'"'s files.\n'
