#!/usr/bin/env bash
# Mutation check: every tests/mutants/*.patch is a one-line bug in a security-relevant
# check (a few lines saying which test should catch it, then a `git diff`). Each is applied
# to a scratch copy of the source, built (release, a build directory of its own) and the
# unit and end-to-end suite run; a mutation the suite does not fail "survived". Exits 1,
# listing them, if any mutation survived, did not apply or did not build. Not part of CI
# (`just mutants`).
#
#   tests/mutants/run.sh [PATCH...]      default: every tests/mutants/*.patch
#
# Environment: MUTANTS_DIR (scratch; default build-mutants/ in the checkout), JOBS
# (default nproc), MUTANTS_CTEST_ARGS (extra ctest arguments, e.g. "-R unit/" to try
# quickly; the verdict then covers only those tests), FLEET_SHARED (test vectors).
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
jobs=${JOBS:-$(nproc)}
scratch=${MUTANTS_DIR:-$root/build-mutants}
shared=${FLEET_SHARED:-$root/../shared}
[ -d "$shared" ] && export FLEET_SHARED=$(cd "$shared" && pwd)
read -r -a ctest_extra <<<"${MUTANTS_CTEST_ARGS:-}"

if [ $# -gt 0 ]; then
	patches=("$@")
else
	patches=("$root"/tests/mutants/*.patch)
fi
[ -e "${patches[0]}" ] || { echo "mutants: no patches" >&2; exit 1; }

src=$scratch/src
build=$scratch/build
log=$scratch/log
mkdir -p "$scratch" "$log"
# The patches as they are now: the checkout may change while this runs (a rebase).
rm -rf "$scratch/patches"
mkdir -p "$scratch/patches"
for p in "${patches[@]}"; do
	cp "$p" "$scratch/patches/" || { echo "mutants: cannot read $p" >&2; exit 1; }
done
patches=("${patches[@]/#*\//$scratch/patches/}")
# What the suite needs (Debian packages, and the npm checkers in tests/npm/node_modules,
# which the scratch copy links to), as run-all.sh installs it.
bash tests/install-deps.sh || { echo "mutants: cannot install what the tests need" >&2; exit 1; }

# The scratch copy sits inside this checkout: stop git from finding the repository above
# it, so `git apply` patches the copy as plain files.
export GIT_CEILING_DIRECTORIES=$scratch

# A fresh copy of the working tree (tracked and untracked files, not ignored ones), so
# patches are tried against the source as it is now, committed or not.
echo "== copying the source to $src"
rm -rf "$src"
mkdir -p "$src"
(git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - --no-recursion) |
	tar -xf - -C "$src" || { echo "mutants: cannot copy the source" >&2; exit 1; }
[ -d tests/npm/node_modules ] && ln -s "$root/tests/npm/node_modules" "$src/tests/npm/node_modules"

build_it() {
	cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DFLEET_WERROR=OFF >"$1" 2>&1 &&
		cmake --build "$build" -j "$jobs" >>"$1" 2>&1
}
# Runs the suite; stops at the first failure (a mutation is caught as soon as one test
# fails). Returns ctest's status; the failed tests are in the log.
suite() {
	(cd "$build" && ctest -j "$jobs" --stop-on-failure --timeout 600 "${ctest_extra[@]}") >"$1" 2>&1
}

echo "== baseline: the unmutated source must build and pass"
if ! build_it "$log/baseline.build"; then
	echo "mutants: the unmutated source does not build (see $log/baseline.build)" >&2
	exit 1
fi
if ! suite "$log/baseline.test"; then
	echo "mutants: the unmutated source fails its tests (see $log/baseline.test)" >&2
	exit 1
fi

killed=() survived=() broken=()
for p in "${patches[@]}"; do
	name=$(basename "$p" .patch)
	if ! (cd "$src" && git apply --check "$p") >"$log/$name.apply" 2>&1; then
		echo "!! $name: does not apply (see $log/$name.apply)"
		broken+=("$name (does not apply)")
		continue
	fi
	(cd "$src" && git apply "$p")
	if ! build_it "$log/$name.build"; then
		echo "!! $name: does not build (see $log/$name.build)"
		broken+=("$name (does not build)")
	elif suite "$log/$name.test"; then
		echo "!! $name: SURVIVED (the suite passed with it)"
		survived+=("$name")
	else
		by=$(sed -n 's/^[[:space:]]*[0-9]* - \(.*\) (.*)$/\1/p' "$log/$name.test" | paste -sd, -)
		echo "ok $name: killed by ${by:-the suite}"
		killed+=("$name")
	fi
	if ! (cd "$src" && git apply -R "$p"); then
		echo "mutants: cannot revert $name; stopping" >&2
		exit 1
	fi
done

echo
echo "${#killed[@]} killed, ${#survived[@]} survived, ${#broken[@]} broken (of ${#patches[@]})"
for s in "${survived[@]}"; do echo "  survived: $s"; done
for b in "${broken[@]}"; do echo "  broken:   $b"; done
[ ${#survived[@]} -eq 0 ] && [ ${#broken[@]} -eq 0 ]
