#!/usr/bin/env python3
"""Runs a command on a pseudo-terminal and answers its prompts in order.

    pty_drive.py TRANSCRIPT PATTERN ANSWER [PATTERN ANSWER...] -- COMMAND...

Each time the terminal output (case-insensitive) shows PATTERN after the previous
answer, ANSWER is typed; the literal answer "^C" sends Ctrl-C through the terminal
(the line discipline turns it into SIGINT for the foreground process group), "\\n" in
an answer is a newline. The whole terminal output goes to TRANSCRIPT; the exit status
is the command's (128+N for a signal). Gives up after 60 seconds.
"""
import os
import pty
import select
import sys
import time

args = sys.argv[1:]
transcript = args.pop(0)
sep = args.index("--")
pairs, cmd = args[:sep], args[sep + 1:]
steps = [(pairs[i].lower().encode(), pairs[i + 1]) for i in range(0, len(pairs), 2)]

pid, fd = pty.fork()
if pid == 0:
    try:
        os.execvp(cmd[0], cmd)
    finally:
        os._exit(127)
buf = b""
pos = 0  # where the search for the next prompt starts
deadline = time.monotonic() + 60
status = None
while time.monotonic() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if fd in r:
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        if not data:
            break
        buf += data
        while steps:
            at = buf.lower().find(steps[0][0], pos)
            if at < 0:
                break
            pos = at + len(steps[0][0])
            answer = steps.pop(0)[1]
            os.write(fd, b"\x03" if answer == "^C" else answer.replace("\\n", "\n").encode())
    else:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            break
else:
    os.kill(pid, 9)
if status is None:
    _, status = os.waitpid(pid, 0)
with open(transcript, "wb") as f:
    f.write(buf)
if os.WIFEXITED(status):
    sys.exit(os.WEXITSTATUS(status))
sys.exit(128 + os.WTERMSIG(status))
