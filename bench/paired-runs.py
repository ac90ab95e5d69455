#!/usr/bin/env python3
"""bench/paired-runs.py RUNS PREPARE CMD... : times commands run side by side.

Each round runs every command once, in alternating order, after running PREPARE (a
shell command, e.g. emptying a cache). Each command's stdout goes to a pipe that is
read and discarded, as a program consuming the output would. Interleaving makes each
ratio compare runs taken moments apart, so the drift of a busy or virtual machine
cancels out instead of landing on one command. Prints, per command, the median time
and the median (and quartiles) of its per-round ratio to the first command.
"""
import statistics
import subprocess
import sys
import time


def once(argv, prepare):
    subprocess.run(prepare, shell=True, check=True)
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    while proc.stdout.read(65536):
        pass
    if proc.wait() != 0:
        sys.exit(f"paired-runs: {' '.join(argv)} failed (exit {proc.returncode})")
    return time.perf_counter() - start


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    runs, prepare = int(sys.argv[1]), sys.argv[2]
    cmds = [c.split() for c in sys.argv[3:]]
    for _ in range(3):  # warm-up: page cache, Nix's own caches
        for c in cmds:
            once(c, prepare)
    times = [[] for _ in cmds]
    for r in range(runs):
        order = range(len(cmds)) if r % 2 == 0 else reversed(range(len(cmds)))
        for i in order:
            times[i].append(once(cmds[i], prepare))
    for i, c in enumerate(cmds):
        ratios = [a / b for a, b in zip(times[i], times[0])]
        q = statistics.quantiles(ratios, n=4)
        print(f"{i}\t{statistics.median(times[i]) * 1000:.1f}\t{statistics.median(ratios):.3f}"
              f"\t{q[0]:.3f}\t{q[2]:.3f}")


main()
