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

static int wait_status(pid_t pid, int *status)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return fl_error_set_os("waitpid failed");
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 0;
}

int fl_run_capture(char *const argv[], struct fl_buf *out, struct fl_buf *err, int *status)
{
	return fl_run_capture_ex(argv, NULL, 0, 0, out, err, status);
}

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

int fl_run_capture_ex(char *const argv[], const char *input, size_t input_len, int timeout_sec,
                      struct fl_buf *out, struct fl_buf *err, int *status)
{
	int po[2] = {-1, -1}, pe[2] = {-1, -1};
	if (pipe2(po, O_CLOEXEC) < 0 || (err && pipe2(pe, O_CLOEXEC) < 0)) {
		fl_error_set_os("cannot create a pipe");
		goto fail_pipes;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	int pi[2] = {-1, -1};
	if (input && pipe2(pi, O_CLOEXEC) < 0) {
		fl_error_set_os("cannot create a pipe");
		posix_spawn_file_actions_destroy(&fa);
		goto fail_pipes;
	}
	if (input)
		posix_spawn_file_actions_adddup2(&fa, pi[0], STDIN_FILENO);
	else
		posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], STDOUT_FILENO);
	if (err)
		posix_spawn_file_actions_adddup2(&fa, pe[1], STDERR_FILENO);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(po[1]);
	if (err)
		close(pe[1]);
	po[1] = pe[1] = -1;
	if (input) {
		close(pi[0]);
		if (rc == 0) {
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
		close(pi[1]);
	}
	if (rc != 0) {
		errno = rc;
		fl_error_set_os("cannot run %s", argv[0]);
		goto fail_pipes;
	}
	long deadline = timeout_sec > 0 ? now_ms() + timeout_sec * 1000L : 0;
	int timed_out = 0;
	struct pollfd fds[2] = {{po[0], POLLIN, 0}, {err ? pe[0] : -1, POLLIN, 0}};
	int open_fds = err ? 2 : 1;
	while (open_fds > 0) {
		int wait = -1;
		if (deadline) {
			long left = deadline - now_ms();
			if (left <= 0) {
				kill(pid, SIGKILL);
				timed_out = 1;
				break;
			}
			wait = (int)left;
		}
		int pr = poll(fds, 2, wait);
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pr == 0)
			continue;
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char buf[65536];
			ssize_t n = read(fds[i].fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(fds[i].fd);
				fds[i].fd = -1;
				open_fds--;
				continue;
			}
			fl_buf_put(i == 0 ? out : err, buf, (size_t)n);
		}
	}
	for (int i = 0; i < 2; i++)
		if (fds[i].fd >= 0)
			close(fds[i].fd);
	if (wait_status(pid, status) < 0)
		return -1;
	if (timed_out)
		return fl_error_set(FL_E_OS, "%s timed out after %d seconds", argv[0], timeout_sec);
	return 0;
fail_pipes:
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
	}
	return -1;
}

int fl_run_interactive(char *const argv[], int *status)
{
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
	if (rc != 0) {
		errno = rc;
		return fl_error_set_os("cannot run %s", argv[0]);
	}
	return wait_status(pid, status);
}

char **fl_argv_split(const char *cmd)
{
	size_t n = 0, cap = 4;
	char **v = calloc(cap, sizeof(char *));
	if (!v)
		goto fail;
	for (const char *p = cmd; *p;) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		const char *s = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
		if (n + 2 > cap) {
			char **nv = realloc(v, (cap *= 2) * sizeof(char *));
			if (!nv)
				goto fail;
			v = nv;
		}
		if (!(v[n++] = strndup(s, (size_t)(p - s))))
			goto fail;
		v[n] = NULL;
	}
	if (n == 0) {
		fl_argv_free(v);
		fl_error_set(FL_E_INVALID, "empty command");
		return NULL;
	}
	return v;
fail:
	fl_argv_free(v);
	fl_error_set(FL_E_NOMEM, "out of memory");
	return NULL;
}

void fl_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}
