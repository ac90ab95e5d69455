#!/usr/bin/env bash
# Shell completion (bash, zsh, fish) and the fleet(1) man page, checked against what
# `fleet --help` prints for every family and verb: every family, verb and flag the help
# shows is completed and is in the man page; the scripts load in the real shells; the man
# page renders without a warning from groff or man.
. "$(dirname "$0")/lib.sh"

# The oracle: the help text, family by family and verb by verb.
commands_of() { # HELP-OUTPUT: the words listed under "Commands:"
	awk '/^Commands:/ { on = 1; next } on && NF == 0 { on = 0 } on { print $1 }'
}
flags_of() { # HELP-OUTPUT: the long flags listed under "Options:"
	grep -oE '^ +(-[A-Za-z0-9], )?--[a-z0-9-]+' | grep -oE -- '--[a-z0-9-]+$'
}
families=$("$FLEET" --help | commands_of)
check "fleet --help lists families" test -n "$families"
declare -A verbs
for fam in $families; do
	verbs[$fam]=$("$FLEET" "$fam" --help | commands_of)
done
check "…and inventory's verbs" test -n "${verbs[inventory]}"
# age is a command itself, with one verb its usage names
verbs[age]=keygen
# What each shell must complete, one query a line: WANT<TAB>the command line typed so far
# (its last word a prefix of WANT): every family, verb and flag the help shows.
: >"$T/queries"
for fam in $families; do
	printf '%s\tfleet %s\n' "$fam" "${fam:0:2}" >>"$T/queries"
	for verb in ${verbs[$fam]}; do
		printf '%s\tfleet %s %s\n' "$verb" "$fam" "${verb:0:1}" >>"$T/queries"
		for flag in $("$FLEET" "$fam" "$verb" --help | flags_of); do
			printf '%s\tfleet %s %s %s\n' "$flag" "$fam" "$verb" "${flag:0:3}" >>"$T/queries"
		done
	done
done
nq=$(wc -l <"$T/queries")

# --- bash ------------------------------------------------------------------------------------
run "$FLEET" completion bash
check "completion bash: exit 0" test "$RC" = 0
cp "$T/run.out" "$T/fleet.bash"
check "completion bash: bash -n accepts it" bash -n "$T/fleet.bash"
has() { # WORD COMMAND...: the command's output has WORD as a line
	local w=$1
	shift
	"$@" | grep -qxF -- "$w"
}
bash_complete() { # WORDS...: COMPREPLY, one per line, the last word being completed
	bash -c 'source "$1" || exit 3; shift
		complete -p fleet >/dev/null || exit 4
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _fleet
		printf "%s\n" "${COMPREPLY[@]}"' bash "$T/fleet.bash" "$@"
}
missing=$(bash -c 'source "$1" || exit 3
	while IFS=$'"'\\t'"' read -r want line; do
		read -ra w <<<"$line"
		COMP_WORDS=("${w[@]}"); COMP_CWORD=$((${#w[@]} - 1)); COMPREPLY=(); _fleet
		printf "%s\n" "${COMPREPLY[@]}" | grep -qxF -- "$want" || printf "%s " "$line"
	done <"$2"' bash "$T/fleet.bash" "$T/queries")
check "bash: every family, verb and flag of the help completes ($nq checked)${missing:+; missing: $missing}" test -z "$missing"
check "bash: a family's prefix completes to it alone" test "$(bash_complete fleet inv)" = inventory
check "bash: global options before the family are skipped with their value" has inventory bash_complete fleet --flake /tmp --json inv
check "bash: …and before the verb" has list bash_complete fleet inventory --flake /tmp li
check "bash: a flag's choices" test "$(bash_complete fleet inventory graph --format '' | tr '\n' ' ')" = "dot mermaid "
check "bash: a flag taking a path: file names (nothing from fleet)" test -z "$(bash_complete fleet inventory list --flake '')"
if has --json bash_complete fleet inventory graph --; then
	not_ok "bash: a flag only where the verb takes it (graph has no --json)"
else
	ok "bash: a flag only where the verb takes it (graph has no --json)"
fi
check "bash: fleet help FAMILY completes verbs" has roles bash_complete fleet help inventory r

# --- zsh -------------------------------------------------------------------------------------
if command -v zsh >/dev/null; then
	"$FLEET" completion zsh >"$T/_fleet"
	check "completion zsh: zsh -n accepts it" zsh -n "$T/_fleet"
	# compsys's functions stubbed to print what the script offers (word:description)
	zsh_complete() {
		zsh -f -c 'source "$1" || exit 3; shift
			_describe() { print -rl -- "${(@P)${@[-1]}}" }
			compadd() { [[ $1 == -- ]] && shift; print -rl -- "$@" }
			_files() { print -r -- @files }
			words=("$@"); CURRENT=$#; _fleet' zsh "$T/_fleet" "$@" | cut -d: -f1
	}
	check "zsh: loaded with compinit, it registers itself" zsh -f -c 'autoload -U compinit && compinit -u -D && source "$1" && [[ ${_comps[fleet]} == _fleet ]]' zsh "$T/_fleet"
	missing=$(zsh -f -c 'source "$1" || exit 3
		_describe() { print -rl -- "${(@P)${@[-1]}}" }
		compadd() { [[ $1 == -- ]] && shift; print -rl -- "$@" }
		_files() { print -r -- @files }
		while IFS=$'"'\\t'"' read -r want line; do
			words=(${=line}); CURRENT=${#words}
			_fleet | cut -d: -f1 | grep -qxF -- "$want" || printf "%s " "$line"
		done <"$2"' zsh "$T/_fleet" "$T/queries")
	check "zsh: every family, verb and flag of the help is offered ($nq checked)${missing:+; missing: $missing}" test -z "$missing"
	check "zsh: global options are skipped with their value" has list zsh_complete fleet --flake /tmp inventory --json ""
	check "zsh: a flag's choices" test "$(zsh_complete fleet machines create --class '' | tr '\n' ' ')" = "nixos darwin "
	check "zsh: a flag taking a path: files" test "$(zsh_complete fleet inventory list --flake '')" = @files
	# and in a real interactive zsh with compinit, on a terminal
	mkdir -p "$T/zfunc" && cp "$T/_fleet" "$T/zfunc/_fleet"
	zsh_tab() { # LINE: what zsh shows after LINE and TAB
		python3 "$E2E_DIR/ptycomplete.py" '["zsh", "-f", "-i"]' \
			"PS1='> '"$'\n'"fpath=($T/zfunc \$fpath)"$'\n'"autoload -U compinit"$'\n'"compinit -u -D" \
			"$1" | tr -d '\r\a'
	}
	check "zsh at a terminal: a family" grep -q '> fleet inventory $' <<<"$(zsh_tab 'fleet invent')"
	check "zsh at a terminal: a verb" grep -q '> fleet inventory graph $' <<<"$(zsh_tab 'fleet inventory gra')"
	check "zsh at a terminal: a flag" grep -q '> fleet inventory list --json $' <<<"$(zsh_tab 'fleet inventory list --js')"
	check "zsh at a terminal: a flag's choices, after global options" grep -q 'dot *mermaid' <<<"$(zsh_tab 'fleet --flake /tmp inventory graph --format ')"
else
	not_ok "zsh is installed (apt-get install zsh)"
fi

# --- fish ------------------------------------------------------------------------------------
if command -v fish >/dev/null; then
	"$FLEET" completion fish >"$T/fleet.fish"
	check "completion fish: fish -n accepts it" fish -n "$T/fleet.fish"
	fish_complete() { # COMMAND-LINE: the candidates fish offers
		fish -N -c 'source $argv[1]; complete -C $argv[2]' "$T/fleet.fish" "$1" | cut -f1
	}
	missing=$(fish -N -c 'source $argv[1]
		for q in (cat $argv[2])
			set -l parts (string split -m1 \t -- $q)
			if not contains -- $parts[1] (complete -C $parts[2] | string replace -r "\t.*" "")
				printf "%s " $parts[2]
			end
		end' "$T/fleet.fish" "$T/queries")
	check "fish: every family, verb and flag of the help completes ($nq checked)${missing:+; missing: $missing}" test -z "$missing"
	check "fish: global options are skipped with their value" has list fish_complete "fleet --flake /tmp inventory --json l"
	check "fish: a flag's choices" test "$(fish_complete "fleet inventory graph --format " | tr '\n' ' ')" = "dot mermaid "
	check "fish: no file names where a verb is expected" sh -c "! fish -N -c 'source \$argv[1]; complete -C \"fleet inventory \"' '$T/fleet.fish' | grep -q fleet.fish"
else
	not_ok "fish is installed (apt-get install fish)"
fi

# --- the man page ----------------------------------------------------------------------------
run "$FLEET" man
check "fleet man: exit 0" test "$RC" = 0
cp "$T/run.out" "$T/fleet.1"
run groff -man -z -ww "$T/fleet.1"
check "groff -man -z -ww: no warnings" sh -c "[ $RC = 0 ] && [ ! -s '$T/run.err' ]" 
run env MANWIDTH=120 man --warnings -E UTF-8 -l "$T/fleet.1"
check "man --warnings -l: no warnings" sh -c "[ $RC = 0 ] && [ ! -s '$T/run.err' ]"
col -b <"$T/run.out" >"$T/fleet.txt"
n=0 bad=
for fam in $families; do
	grep -qE "^   $fam\$" "$T/fleet.txt" || bad="$bad $fam"
	n=$((n + 1))
	for verb in ${verbs[$fam]}; do
		grep -qF "fleet $fam $verb" "$T/fleet.txt" || bad="$bad $fam/$verb"
		n=$((n + 1))
		for flag in $("$FLEET" "$fam" "$verb" --help | flags_of); do
			[ "$flag" = --help ] && continue
			# the verb's section (up to the next "fleet ..." synopsis) names the flag
			awk -v s="fleet $fam $verb" 'index($0, s) == 8 { on = 1; next } on && /^       fleet / { exit } on' "$T/fleet.txt" |
				grep -qE -- "(^| )$flag( |\$)" || bad="$bad $fam/$verb/$flag"
			n=$((n + 1))
		done
	done
done
check "man: every family, verb and verb flag of the help ($n checked)${bad:+; missing:$bad}" test -z "$bad"
for flag in $("$FLEET" --help | awk '/^Global options/ { on = 1; next } on && NF == 0 { on = 0 } on' | flags_of); do
	check "man: the global option $flag" grep -qE -- "^       (-[a-z], )?$flag( |\$)" "$T/fleet.txt"
done
check "man: exit status 2 is a usage error" grep -qE '^       2 +a usage error' "$T/fleet.txt"
if [ -f "$(dirname "$FLEET")/fleet.1" ]; then
	check "the build's fleet.1 is fleet man's output" cmp -s "$(dirname "$FLEET")/fleet.1" "$T/fleet.1"
	for f in fleet.bash _fleet fleet.fish; do
		check "the build wrote the completion script $f" test -s "$(dirname "$FLEET")/completion/$f"
	done
else
	not_ok "the build writes fleet.1 beside the binary"
fi

finish
