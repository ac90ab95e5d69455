/* Running programs: always an argv array (posix_spawn), never a shell string. */
#ifndef FLEET_PROCESS_H
#define FLEET_PROCESS_H

#include "fleet/buf.h"

#include <poll.h>
#include <sys/types.h>

/* Runs argv[0] (searched on PATH) with stdin from /dev/null, capturing stdout into out
 * (and stderr into err if not NULL; else it is inherited). *status gets the exit code,
 * or 128+signal. Returns -1 only if the program could not be started. */
int fl_run_capture(char *const argv[], struct fl_buf *out, struct fl_buf *err, int *status);
/* As fl_run_capture, with stdin fed from `input` (may be NULL) and a timeout in seconds
 * (0: none) after which the child is killed and FL_E_OS "timed out" returned. The child
 * (here and in fl_run_capture) runs in a process group of its own, killed as a whole
 * (see fl_proc_signal_all); like timeout(1)'s, it cannot read from the terminal. */
int fl_run_capture_ex(char *const argv[], const char *input, size_t input_len, int timeout_sec,
                      struct fl_buf *out, struct fl_buf *err, int *status);
/* As fl_run_capture_ex without input, for a program that may ask the user on the
 * terminal (SOPS_AGE_KEY_CMD: a pass(1) or age(1) passphrase prompt): it stays in
 * fleet's process group, the terminal's foreground, and only it is killed on the
 * timeout. */
int fl_run_capture_tty(char *const argv[], int timeout_sec, struct fl_buf *out, int *status);
/* A running child whose stdout is consumed as it comes (a parser can work while the
 * child still writes) and whose stderr is collected. With out_max set, out gets that
 * much capacity up front (address space; pages are used only as written) and never
 * moves, so pointers into it stay valid while it grows; output beyond it is an error. */
struct fl_proc {
	const char *name;
	pid_t pid;
	struct pollfd fds[2]; /* stdout, stderr */
	long deadline;        /* CLOCK_MONOTONIC ms, 0: none */
	int timeout_sec;
	int timed_out, overflowed;
	int own_group; /* the child leads a process group of its own */
	size_t out_max;
	struct fl_buf *out, *err;
};
/* Starts argv as fl_run_capture_ex does. out must be empty and not secret if out_max. */
int fl_proc_start(struct fl_proc *p, char *const argv[], const char *input, size_t input_len,
                  int timeout_sec, struct fl_buf *out, size_t out_max, struct fl_buf *err);
/* Waits for more stdout: 1 when out grew, 0 once stdout has ended, -1 (the child is
 * killed) on a timeout or output beyond out_max. */
int fl_proc_more(struct fl_proc *p);
/* Reads the rest of the output and waits for the child; *status as fl_run_capture. */
int fl_proc_finish(struct fl_proc *p, int *status);
/* Children started with fl_proc_start, fl_run_capture and fl_run_capture_ex run in a
 * process group of their own, killed as a whole on a timeout or an error. This sends sig to every
 * such group still running; async-signal-safe, for the handler of a signal that ends fleet. */
void fl_proc_signal_all(int sig);

/* Keeps this process's memory (identities, plaintext) out of core dumps: RLIMIT_CORE 0
 * (inherited by children) and, on Linux, PR_SET_DUMPABLE 0. Call first thing in main. */
int fl_core_dumps_disable(void);

/* Runs argv (searched on PATH) with the terminal (stdin/stdout/stderr inherited) and
 * the environment envp (NULL: this process's), and waits, as system(3) does: SIGINT
 * and SIGQUIT are ignored meanwhile and SIGTERM and SIGHUP blocked (delivered once the
 * caller's signal mask allows them again); the child gets them all at their defaults. */
int fl_run_interactive(char *const argv[], char *const envp[], int *status);
/* Frees a NULL-terminated argv of malloc'd strings (fl_shlex_split's). */
void fl_argv_free(char **argv);

#endif
