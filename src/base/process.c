#include "fleet/process.h"
#include "fleet/error.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* The process groups of the children running now, so that a signal that ends fleet can
 * end them too (they are not in the terminal's foreground group, so Ctrl-C reaches only
 * fleet). Slots are claimed and freed atomically: children may be started from threads. */
#define MAX_GROUPS 32
static pid_t running_groups[MAX_GROUPS];

static void groups_add(pid_t pgid)
{
	for (int i = 0; i < MAX_GROUPS; i++) {
		pid_t none = 0;
		if (__atomic_compare_exchange_n(&running_groups[i], &none, pgid, 0,
		                                __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			return;
	}
	/* Full: this child is still killed on a timeout, only not on fleet's signals. */
}

static void groups_remove(pid_t pgid)
{
	for (int i = 0; i < MAX_GROUPS; i++) {
		pid_t mine = pgid;
		if (__atomic_compare_exchange_n(&running_groups[i], &mine, 0, 0, __ATOMIC_SEQ_CST,
		                                __ATOMIC_SEQ_CST))
			return;
	}
}

void fl_proc_signal_all(int sig)
{
	for (int i = 0; i < MAX_GROUPS; i++) {
		pid_t pgid = __atomic_load_n(&running_groups[i], __ATOMIC_SEQ_CST);
		if (pgid > 0)
			kill(-pgid, sig);
	}
}

static int wait_status(pid_t pid, int *status)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return fl_error_set_os("waitpid failed");
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 0;
}

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int proc_start(struct fl_proc *p, char *const argv[], const char *input, size_t input_len,
                      int timeout_sec, struct fl_buf *out, size_t out_max, struct fl_buf *err,
                      int own_group)
{
	memset(p, 0, sizeof(*p));
	p->own_group = own_group;
	p->name = argv[0];
	p->out = out;
	p->err = err;
	p->out_max = out_max;
	p->timeout_sec = timeout_sec;
	p->fds[0].fd = p->fds[1].fd = -1;
	if (out_max) {
		if (out->secret || out->ptr)
			return fl_error_set(FL_E_INVALID,
			                    "internal: stable output must start empty");
		/* Address space only: pages are used as the output fills them. */
		if (!(out->ptr = malloc(out_max + 1)))
			return fl_error_set(FL_E_NOMEM,
			                    "cannot reserve %zu MiB for the output of %s",
			                    out_max >> 20, argv[0]);
		out->ptr[0] = '\0';
		out->cap = out_max + 1;
	}
	int po[2] = {-1, -1}, pe[2] = {-1, -1}, pi[2] = {-1, -1};
	if (pipe2(po, O_CLOEXEC) < 0 || (err && pipe2(pe, O_CLOEXEC) < 0) ||
	    (input && pipe2(pi, O_CLOEXEC) < 0)) {
		fl_error_set_os("cannot create a pipe");
		for (int i = 0; i < 2; i++) {
			close_fd(&po[i]);
			close_fd(&pe[i]);
			close_fd(&pi[i]);
		}
		return -1;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (input)
		posix_spawn_file_actions_adddup2(&fa, pi[0], STDIN_FILENO);
	else
		posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], STDOUT_FILENO);
	if (err)
		posix_spawn_file_actions_adddup2(&fa, pe[1], STDERR_FILENO);
	/* Its own process group: a timeout then ends whatever it started too (nix's own
	 * children, a shell's background jobs), not only the program itself. */
	posix_spawnattr_t attr;
	posix_spawnattr_init(&attr);
	if (own_group) {
		posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
		posix_spawnattr_setpgroup(&attr, 0);
	}
	int rc = posix_spawnp(&p->pid, argv[0], &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (rc == 0 && own_group)
		groups_add(p->pid);
	close_fd(&po[1]);
	close_fd(&pe[1]);
	close_fd(&pi[0]);
	if (input && rc == 0) {
		/* Small inputs (secrets for prompts) fit the pipe buffer. */
		size_t off = 0;
		while (off < input_len) {
			ssize_t w = write(pi[1], input + off, input_len - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			off += (size_t)w;
		}
	}
	close_fd(&pi[1]);
	if (rc != 0) {
		close_fd(&po[0]);
		close_fd(&pe[0]);
		errno = rc;
		return fl_error_set_os("cannot run %s", argv[0]);
	}
	p->fds[0] = (struct pollfd){po[0], POLLIN, 0};
	p->fds[1] = (struct pollfd){pe[0], POLLIN, 0};
	p->deadline = timeout_sec > 0 ? now_ms() + timeout_sec * 1000L : 0;
	return 0;
}

int fl_proc_start(struct fl_proc *p, char *const argv[], const char *input, size_t input_len,
                  int timeout_sec, struct fl_buf *out, size_t out_max, struct fl_buf *err)
{
	return proc_start(p, argv, input, input_len, timeout_sec, out, out_max, err, 1);
}

static void kill_child(struct fl_proc *p)
{
	/* The whole group: the child is its leader and not yet reaped, so the group id is
	 * still its own. */
	kill(p->own_group ? -p->pid : p->pid, SIGKILL);
	close_fd(&p->fds[0].fd);
	close_fd(&p->fds[1].fd);
}

/* Reads what comes until stdout grew (returns 1; only if want_out), or until stdout has
 * ended (want_out) or both have (0); -1 on a timeout, a failure or too much output. */
static int pump(struct fl_proc *p, int want_out)
{
	while (p->fds[0].fd >= 0 || (!want_out && p->fds[1].fd >= 0)) {
		int wait = -1;
		if (p->deadline) {
			long left = p->deadline - now_ms();
			if (left <= 0) {
				p->timed_out = 1;
				kill_child(p);
				return fl_error_set(FL_E_OS, "%s timed out after %d seconds",
				                    p->name, p->timeout_sec);
			}
			wait = (int)left;
		}
		int pr = poll(p->fds, 2, wait);
		if (pr < 0 && errno != EINTR) {
			fl_error_set_os("poll failed");
			kill_child(p);
			return -1;
		}
		if (pr <= 0)
			continue;
		int grew = 0;
		for (int i = 0; i < 2; i++) {
			if (p->fds[i].fd < 0 || !(p->fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			struct fl_buf *b = i == 0 ? p->out : p->err;
			size_t room = 65536;
			if (i == 0 && p->out_max) {
				room = b->cap - b->len - 1;
				if (room == 0) {
					p->overflowed = 1;
					kill_child(p);
					return fl_error_set(
					    FL_E_INVALID, "%s wrote more than %zu bytes of output",
					    p->name, p->out_max);
				}
				room = room < 65536 ? room : 65536;
			} else if (fl_buf_grow(b, room) < 0) {
				kill_child(p);
				return -1;
			}
			/* Straight into the buffer: no copy. */
			ssize_t n = read(p->fds[i].fd, b->ptr + b->len, room);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close_fd(&p->fds[i].fd);
				continue;
			}
			b->len += (size_t)n;
			b->ptr[b->len] = '\0';
			grew |= i == 0;
		}
		if (grew && want_out)
			return 1;
	}
	return 0;
}

int fl_proc_more(struct fl_proc *p)
{
	if (p->timed_out || p->overflowed)
		return fl_error_set(FL_E_INVALID, "internal: %s was stopped", p->name);
	return pump(p, 1);
}

int fl_proc_finish(struct fl_proc *p, int *status)
{
	int rc = p->timed_out ? -1 : pump(p, 0);
	struct fl_error saved = *fl_error_last();
	close_fd(&p->fds[0].fd);
	close_fd(&p->fds[1].fd);
	int waited = wait_status(p->pid, status);
	if (p->own_group)
		groups_remove(p->pid);
	if (waited < 0)
		return -1;
	if (p->timed_out)
		return fl_error_set(FL_E_OS, "%s timed out after %d seconds", p->name,
		                    p->timeout_sec);
	if (p->overflowed)
		return fl_error_set(FL_E_INVALID, "%s wrote more than %zu bytes of output", p->name,
		                    p->out_max);
	if (rc < 0)
		return fl_error_set(saved.klass, "%s", saved.message);
	return 0;
}

int fl_run_capture(char *const argv[], struct fl_buf *out, struct fl_buf *err, int *status)
{
	return fl_run_capture_ex(argv, NULL, 0, 0, out, err, status);
}

int fl_run_capture_ex(char *const argv[], const char *input, size_t input_len, int timeout_sec,
                      struct fl_buf *out, struct fl_buf *err, int *status)
{
	struct fl_proc p;
	if (fl_proc_start(&p, argv, input, input_len, timeout_sec, out, 0, err) < 0)
		return -1;
	return fl_proc_finish(&p, status);
}

int fl_run_capture_tty(char *const argv[], int timeout_sec, struct fl_buf *out, int *status)
{
	/* In fleet's process group, the terminal's foreground: it may prompt there. */
	struct fl_proc p;
	if (proc_start(&p, argv, NULL, 0, timeout_sec, out, 0, NULL, 0) < 0)
		return -1;
	return fl_proc_finish(&p, status);
}

int fl_run_interactive(char *const argv[], char *const envp[], int *status)
{
	/* As system(3): while the child has the terminal, Ctrl-C and Ctrl-\ are its own
	 * (ignored here), and TERM/HUP wait until it is done (blocked here), so the
	 * caller is still alive to clean up whatever the child worked on. */
	static const int child_default[] = {SIGINT, SIGQUIT, SIGTERM, SIGHUP};
	struct sigaction ign, old_int, old_quit;
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sigset_t old_mask, during, child_mask, dflt;
	sigprocmask(SIG_SETMASK, NULL, &old_mask);
	during = old_mask;
	sigaddset(&during, SIGTERM);
	sigaddset(&during, SIGHUP);
	/* Ignored but blocked, a signal would stay pending on Linux: unblock INT/QUIT. */
	sigdelset(&during, SIGINT);
	sigdelset(&during, SIGQUIT);
	child_mask = old_mask;
	sigemptyset(&dflt);
	for (size_t i = 0; i < sizeof(child_default) / sizeof(child_default[0]); i++) {
		sigdelset(&child_mask, child_default[i]);
		sigaddset(&dflt, child_default[i]);
	}
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	sigprocmask(SIG_SETMASK, &during, NULL);

	posix_spawnattr_t attr;
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigdefault(&attr, &dflt);
	posix_spawnattr_setsigmask(&attr, &child_mask);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], NULL, &attr, argv, envp ? envp : environ);
	posix_spawnattr_destroy(&attr);
	if (rc != 0) {
		errno = rc;
		rc = fl_error_set_os("cannot run %s", argv[0]);
	} else {
		rc = wait_status(pid, status);
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	return rc;
}

void fl_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}
