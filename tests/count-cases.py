#!/usr/bin/env python3
"""Counts test cases, not test programs, in the log of `ctest -V`.

ctest -V prefixes every line a test prints with "<number>: ". Each test program is
counted by what it says about its cases, first form found:

  - TAP-like lines "ok - NAME" / "not ok - NAME" (tests/e2e/lib.sh): one case each;
  - cmocka's "[ RUN      ]" / "[       OK ]" lines: one case per test function (a
    skipped one counts neither way);
  - a line "N passed, M failed" (e.g. the CCTV vector runner): N + M cases;
  - nothing of the kind (a fuzz target): the program is one case;
  - a program ctest reports as skipped (exit 77): no case, and its "skip - WHY" line
    is printed.

A program that ctest reports as failed while none of its cases failed (a crash, a
sanitizer report at exit) adds one failed case, so a failure can never be hidden.

Usage: count-cases.py LOG LABEL
Prints the output of every failed program, one line per program, and last a line
"LABEL: N passed, M failed (P programs)". Exit status 0.
"""
import re
import sys

RESULT = re.compile(r"^\s*\d+/\d+ Test\s+#(\d+): (\S+) \.*\**\s*(Passed|Skipped|\*\*\*Failed|Failed|Not Run|\*\*\*Timeout|\*\*\*Exception.*|Subprocess.*|Exit code.*)")
PASSED_LINE = re.compile(r"(\d+) passed, (\d+) failed")


def count(lines):
    ok = sum(1 for l in lines if l.startswith("ok - "))
    notok = sum(1 for l in lines if l.startswith("not ok - "))
    if ok or notok:
        return ok, notok
    run = [l[12:].strip() for l in lines if l.startswith("[ RUN      ]")]
    if run:
        # cmocka: each test that ran ends OK, FAILED or SKIPPED (skip()); a skipped one
        # counts neither way, and one with no verdict (a crash) fails.
        good = {l[12:].strip() for l in lines if l.startswith("[       OK ]")}
        skipped = {l[12:].strip() for l in lines if l.startswith("[  SKIPPED ]")}
        ok = sum(1 for n in run if n in good)
        bad = sum(1 for n in run if n not in good and n not in skipped)
        return ok, bad
    for l in reversed(lines):
        m = PASSED_LINE.search(l)
        if m:
            return int(m.group(1)), int(m.group(2))
    return None


def main():
    log, label = sys.argv[1], sys.argv[2]
    output = {}
    results = []
    with open(log, errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\n")
            m = re.match(r"^(\d+): (.*)$", line)
            if m:
                output.setdefault(m.group(1), []).append(m.group(2))
                continue
            r = RESULT.match(line)
            if r:
                results.append((r.group(1), r.group(2), r.group(3)))
    total_ok = total_bad = skipped = 0
    for num, name, status in results:
        lines = output.get(num, [])
        if status == "Skipped":
            # exit 77 (tests/e2e/lib.sh skip_all): counted neither way, and said why.
            skipped += 1
            why = [l[len("skip - "):] for l in lines if l.startswith("skip - ")]
            print(f"  {name}: skipped: {why[0] if why else 'no reason given'}")
            continue
        passed = status == "Passed"
        counted = count(lines)
        if counted is None:
            ok, bad = (1, 0) if passed else (0, 1)
        else:
            ok, bad = counted
            if not passed and bad == 0:
                bad = 1
        total_ok += ok
        total_bad += bad
        state = "ok" if passed else "FAILED"
        print(f"  {name}: {ok} passed, {bad} failed [{state}]")
        if not passed:
            print(f"---- output of {name}")
            for l in lines:
                print(f"  | {l}")
            print(f"---- end of {name}")
    if not results:
        print(f"  no test ran (see {log})")
        total_bad += 1
    print(f"{label}: {total_ok} passed, {total_bad} failed ({len(results)} programs, {skipped} skipped)")


if __name__ == "__main__":
    main()
