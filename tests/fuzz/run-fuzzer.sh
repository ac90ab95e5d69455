#!/usr/bin/env bash
# run-fuzzer.sh TARGET CORPUS SECONDS [SEED_DIR...]: a bounded libFuzzer run.
# Seeds are copied into a fresh corpus; a directory of C2SP CCTV vectors contributes
# the age file of each uncompressed vector; a nix transcript (### headings) contributes
# each JSON line nix printed. A crash leaves its input beside the corpus.
set -euo pipefail
target=$1 corpus=$2 seconds=$3
shift 3
mkdir -p "$corpus"
for seed in "$@"; do
	[ -d "$seed" ] || continue
	for f in "$seed"/*; do
		[ -f "$f" ] || continue
		if head -n1 "$f" | grep -q '^### '; then
			# A transcript of nix commands (nix-outputs/): each line of JSON it printed.
			{ grep -a '^[[{]' "$f" || true; } | sed 's/(exit [0-9]*)$//' | split -l 1 - "$corpus/nix-$(basename "$f")-"
		elif grep -aq '^expect: ' "$f"; then
			grep -aq '^compressed: ' "$f" && continue
			n=$(grep -an -m1 '^$' "$f" | cut -d: -f1)
			tail -n +"$((n + 1))" "$f" >"$corpus/cctv-$(basename "$f")"
		else
			cp "$f" "$corpus/"
		fi
	done
done
exec "$target" -max_total_time="$seconds" -max_len=262144 -timeout=20 -rss_limit_mb=2048 \
	-print_final_stats=1 -artifact_prefix="$corpus/crash-" "$corpus"
