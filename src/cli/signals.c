/* Holding back the signals that would kill fleet while plaintext lies in a private
 * directory, and the one interruptible wait (the "press Enter" of sops edit). */
#include "cli/cli.h"
#include "fleet/error.h"

#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

static const int held[] = {SIGINT, SIGQUIT, SIGTERM, SIGHUP};

static void held_set(sigset_t *s)
{
	sigemptyset(s);
	for (size_t i = 0; i < sizeof(held) / sizeof(held[0]); i++)
		sigaddset(s, held[i]);
}

void cli_signals_hold(void)
{
	sigset_t s;
	held_set(&s);
	sigprocmask(SIG_BLOCK, &s, NULL);
}

void cli_signals_release(void)
{
	sigset_t s;
	held_set(&s);
	sigprocmask(SIG_UNBLOCK, &s, NULL);
}

int cli_signals_pending(void)
{
	sigset_t p;
	if (sigpending(&p) != 0)
		return 0;
	for (size_t i = 0; i < sizeof(held) / sizeof(held[0]); i++)
		if (sigismember(&p, held[i]))
			return held[i];
	return 0;
}

static volatile sig_atomic_t interrupted;

static void note_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

int cli_wait_enter(const char *message)
{
	if (!isatty(STDIN_FILENO))
		return fl_error_set(FL_E_CANCELLED, "no terminal to wait on");
	/* Ctrl-C must end the wait. SIGINT is caught (a flag) but stays blocked except
	 * inside pselect, which lets it in atomically: one that arrived before the wait, or
	 * between two reads, is never missed. */
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = note_interrupt;
	sigemptyset(&sa.sa_mask);
	interrupted = 0;
	sigset_t s, old_mask, waiting;
	sigemptyset(&s);
	sigaddset(&s, SIGINT);
	sigprocmask(SIG_BLOCK, &s, &old_mask);
	sigaction(SIGINT, &sa, &old);
	waiting = old_mask;
	sigdelset(&waiting, SIGINT);
	fprintf(stderr, "%s\n", message);
	fflush(stderr);
	int rc = -1;
	while (!interrupted) {
		fd_set in;
		FD_ZERO(&in);
		FD_SET(STDIN_FILENO, &in);
		if (pselect(STDIN_FILENO + 1, &in, NULL, NULL, NULL, &waiting) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		char c;
		ssize_t r = read(STDIN_FILENO, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 1 && c != '\n')
			continue;
		rc = r == 1 ? 0 : -1;
		break;
	}
	sigaction(SIGINT, &old, NULL);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	if (rc < 0)
		return fl_error_set(FL_E_CANCELLED,
		                    interrupted ? "interrupted" : "end of input while waiting");
	return 0;
}
