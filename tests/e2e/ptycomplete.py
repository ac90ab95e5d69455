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
def drain(t):
    out = b""
    end = time.monotonic() + t
    while time.monotonic() < end:
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
drain(1.0)
for l in setup.split("\n"):
    os.write(fd, l.encode() + b"\n")
    drain(0.5)
os.write(fd, b"echo READY\n")
drain(1.0)
os.write(fd, line.encode() + b"\t")
out = drain(1.5)
os.write(fd, b"\t")
out += drain(1.5)
os.write(fd, b"\x03")
drain(0.3)
os.write(fd, b"exit\n")
drain(0.3)
try:
    os.kill(pid, 9)
except OSError:
    pass
sys.stdout.write(out.decode(errors="replace"))
