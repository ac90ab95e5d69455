/* Running programs: output consumed as it comes (in memory that never moves), stderr
 * collected beside it, input fed, a timeout and an output bound enforced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fleet/error.h"
#include "fleet/process.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SH(script)                                                                                 \
	(char *[])                                                                                 \
	{                                                                                          \
		"/bin/sh", "-c", (script), NULL                                                    \
	}

static void test_stream(void **state)
{
	(void)state;
	struct fl_buf out = FL_BUF_INIT, err = FL_BUF_INIT;
	struct fl_proc p;
	char **argv = SH("printf abc; echo oops >&2; sleep 0.5; printf def");
	assert_int_equal(fl_proc_start(&p, argv, NULL, 0, 30, &out, 1 << 20, &err), 0);
	const char *base = out.ptr;
	assert_int_equal(fl_proc_more(&p), 1);
	/* The first piece arrives before the program has finished. */
	assert_int_equal(out.len, 3);
	assert_memory_equal(out.ptr, "abc", 3);
	int rc;
	while ((rc = fl_proc_more(&p)) == 1)
		;
	assert_int_equal(rc, 0);
	int status = -1;
	assert_int_equal(fl_proc_finish(&p, &status), 0);
	assert_int_equal(status, 0);
	assert_string_equal(out.ptr, "abcdef");
	assert_ptr_equal(out.ptr, base); /* never moved */
	assert_string_equal(err.ptr, "oops\n");
	fl_buf_free(&out);
	fl_buf_free(&err);
}

static void test_bound_and_timeout(void **state)
{
	(void)state;
	struct fl_buf out = FL_BUF_INIT;
	struct fl_proc p;
	int status;
	char **argv = SH("yes");
	assert_int_equal(fl_proc_start(&p, argv, NULL, 0, 30, &out, 4096, NULL), 0);
	int rc;
	while ((rc = fl_proc_more(&p)) == 1)
		;
	assert_int_equal(rc, -1);
	assert_non_null(strstr(fl_error_last()->message, "more than 4096 bytes"));
	assert_int_equal(fl_proc_finish(&p, &status), -1);
	assert_non_null(strstr(fl_error_last()->message, "more than 4096 bytes"));
	assert_true(out.len <= 4096);
	fl_buf_free(&out);

	time_t start = time(NULL);
	argv = SH("echo started; exec sleep 30");
	struct fl_buf out2 = FL_BUF_INIT;
	assert_int_equal(fl_run_capture_ex(argv, NULL, 0, 1, &out2, NULL, &status), -1);
	assert_non_null(strstr(fl_error_last()->message, "timed out after 1 seconds"));
	assert_true(time(NULL) - start < 10);
	assert_int_equal(status, 128 + 9);
	assert_string_equal(out2.ptr, "started\n");
	fl_buf_free(&out2);
}

/* Whether a process is gone: no such process, or a zombie nobody reaped yet (killed). */
static int process_gone(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return kill(pid, 0) < 0 && errno == ESRCH;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *paren = strrchr(buf, ')');
	return paren && (paren[2] == 'Z' || paren[2] == 'X');
}

/* A timeout ends what the child started, not only the child (its process group). */
static void test_timeout_kills_grandchildren(void **state)
{
	(void)state;
	struct fl_buf out = FL_BUF_INIT;
	int status;
	/* The grandchild's stdout is not the pipe, so fleet does not wait for it. */
	char **argv = SH("sleep 100 >/dev/null & echo $!; sleep 100");
	assert_int_equal(fl_run_capture_ex(argv, NULL, 0, 1, &out, NULL, &status), -1);
	assert_non_null(strstr(fl_error_last()->message, "timed out"));
	pid_t grandchild = (pid_t)atol(out.ptr);
	assert_true(grandchild > 0);
	/* SIGKILL is delivered at once, but the process may take a moment to be torn down:
	 * wait for it (a bound, not a timing being checked). */
	int gone = 0;
	for (int i = 0; i < 200 && !(gone = process_gone(grandchild)); i++)
		usleep(50000);
	if (!gone)
		kill(grandchild, SIGKILL);
	assert_true(gone);
	fl_buf_free(&out);
}

/* fl_run_capture_tty leaves the child in fleet's process group (it may prompt on the
 * terminal, as sops lets SOPS_AGE_KEY_CMD); the others give it one of its own. */
static void test_process_groups(void **state)
{
	(void)state;
	struct fl_buf out = FL_BUF_INIT;
	int status;
	char **argv = SH("sed 's/.*) //' /proc/$$/stat | cut -d' ' -f3");
	assert_int_equal(fl_run_capture_tty(argv, 30, &out, &status), 0);
	assert_int_equal(atol(out.ptr), (long)getpgrp());
	fl_buf_clear(&out);
	assert_int_equal(fl_run_capture_ex(argv, NULL, 0, 30, &out, NULL, &status), 0);
	assert_int_not_equal(atol(out.ptr), (long)getpgrp());
	fl_buf_clear(&out);
	assert_int_equal(fl_run_capture(argv, &out, NULL, &status), 0);
	assert_int_not_equal(atol(out.ptr), (long)getpgrp());
	fl_buf_free(&out);
}

static void test_input_and_status(void **state)
{
	(void)state;
	struct fl_buf out = FL_BUF_INIT, err = FL_BUF_INIT;
	int status;
	char **argv = SH("cat; echo warn >&2; exit 3");
	assert_int_equal(fl_run_capture_ex(argv, "secret\n", 7, 10, &out, &err, &status), 0);
	assert_int_equal(status, 3);
	assert_string_equal(out.ptr, "secret\n");
	assert_string_equal(err.ptr, "warn\n");
	fl_buf_free(&out);
	fl_buf_free(&err);
	char *missing[] = {"fleet-no-such-program", NULL};
	assert_int_equal(fl_run_capture(missing, &out, NULL, &status), -1);
	assert_non_null(strstr(fl_error_last()->message, "cannot run fleet-no-such-program"));
	fl_buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stream),
	    cmocka_unit_test(test_bound_and_timeout),
	    cmocka_unit_test(test_timeout_kills_grandchildren),
	    cmocka_unit_test(test_process_groups),
	    cmocka_unit_test(test_input_and_status),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
