"""ptycomplete.py SHELL-ARGV-JSON SETUP LINE: types the SETUP lines, then LINE and TAB
(twice) into an interactive shell on a pseudo-terminal, and prints what the terminal showed
after LINE: the real shell's completion, as a user at a terminal would see it."""
import json
import os
import pty
import select
import sys
import time

argv, setup, line = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
pid, fd = pty.fork()
if pid == 0:
    os.environ["TERM"] = "dumb"
    os.execvp(argv[0], argv)
def drain(quiet, longest=10.0):
    """What the terminal shows until it has been quiet for `quiet` seconds."""
    out = b""
    end = time.monotonic() + longest
    last = time.monotonic()
    while time.monotonic() < end and time.monotonic() - last < quiet:
        r, _, _ = select.select([fd], [], [], 0.05)
        if fd in r:
            try:
                d = os.read(fd, 65536)
            except OSError:
                break
            if not d:
                break
            out += d
            last = time.monotonic()
    return out


def until(marker, longest=60.0):
    """What the terminal shows up to and including marker."""
    out = b""
    end = time.monotonic() + longest
    while marker not in out and time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if fd in r:
            try:
                d = os.read(fd, 65536)
            except OSError:
                break
            if not d:
                break
            out += d
    return out


for l in setup.split("\n"):
    os.write(fd, l.encode() + b"\n")
# the shell has run the setup when it prints what `echo` was given, assembled
os.write(fd, b"echo SETUP-$((6 * 7))-DONE\n")
until(b"SETUP-42-DONE")
drain(0.2)
os.write(fd, line.encode() + b"\t")
out = drain(1.0)
os.write(fd, b"\t")
out += drain(1.0)
os.write(fd, b"\x03exit\n")
drain(0.1, 1.0)
try:
    os.kill(pid, 9)
except OSError:
    pass
sys.stdout.write(out.decode(errors="replace"))
