#!/usr/bin/env bash
# fleet never leaves a core dump holding an identity: with `ulimit -c unlimited` and the
# core pattern a plain file name, SIGABRT while `fleet age -d` waits for its input (the
# identity loaded) dumps no core, and the process is not dumpable (PR_SET_DUMPABLE 0).
. "$(dirname "$0")/lib.sh"

if [ "$(uname -s)" != Linux ]; then
	echo "# not Linux: skipped"
	finish
fi
require_tools python3
export HOME=$T/home
mkdir -p "$HOME" "$T/cwd"
"$FLEET" age keygen -o "$T/key.txt" 2>/dev/null

pattern=$(cat /proc/sys/kernel/core_pattern)
case $pattern in
'|'* | */*) plain_pattern=0 ;; # piped to a handler or written elsewhere: no file to look for
*) plain_pattern=1 ;;
esac

# abort_fleet: starts fleet with RLIMIT_CORE unlimited (as nobody when the test runs as
# root), waits until it blocks reading standard input, sends SIGABRT. Prints "<core limit
# seen in /proc> <uid owning /proc/PID/status> <uid fleet ran as> <core dumped 0|1>
# <files in cwd>". proc(5): a process that is not dumpable has its /proc files owned by root.
abort_fleet() {
	python3 - "$FLEET" "$T/pub/key.txt" "$T/cwd" <<'PY'
import os, pwd, resource, signal, subprocess, sys, time
fleet, key, cwd = sys.argv[1], sys.argv[2], sys.argv[3]
uid = os.getuid()
if uid == 0:
    nobody = pwd.getpwnam("nobody")
    uid, gid = nobody.pw_uid, nobody.pw_gid
def child():
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    if os.getuid() == 0:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
p = subprocess.Popen([fleet, "age", "-d", "-i", key], stdin=subprocess.PIPE,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd,
                     preexec_fn=child)
# Wait (up to 60 s) until it sleeps in a read of the pipe: the identity is loaded by then.
for _ in range(600):
    try:
        with open(f"/proc/{p.pid}/wchan") as f:
            wchan = f.read()
        with open(f"/proc/{p.pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        break
    if state == "S" and "pipe" in wchan:
        break
    time.sleep(0.1)
limit = "?"
with open(f"/proc/{p.pid}/limits") as f:
    for line in f:
        if line.startswith("Max core file size"):
            limit = ":".join(line.split()[4:6])
owner = os.stat(f"/proc/{p.pid}/status").st_uid
os.kill(p.pid, signal.SIGABRT)
_, status = os.waitpid(p.pid, 0)
dumped = int(os.WIFSIGNALED(status) and os.WCOREDUMP(status))
print(limit, owner, uid, dumped, ",".join(sorted(os.listdir(cwd))) or "-")
PY
}

# Readable by nobody, for the run as nobody.
chmod 755 "$T"
mkdir "$T/pub" && cp "$T/key.txt" "$T/pub/key.txt" && chmod 644 "$T/pub/key.txt"
chmod 1777 "$T/cwd"
read -r limit owner uid dumped files <<<"$(abort_fleet)"
check "the running process's core limit is 0 (/proc/PID/limits)" [ "$limit" = "0:0" ]
if [ "$uid" != 0 ]; then
	check "the running process is not dumpable (its /proc files belong to root)" [ "$owner" = 0 ]
fi
check "SIGABRT dumps no core (wait status)" [ "$dumped" = 0 ]
if [ "$plain_pattern" = 1 ]; then
	check "no core file appears in the working directory" [ "$files" = - ]
fi

finish
