/* age refuses scrypt work factors above 2^22 (age's ScryptIdentity: maxWorkFactor 22,
 * "scrypt work factor too large" for logN > 22), before doing any work. fleet does the
 * same: 2^22 is accepted, 2^23 refused. Accepting 2^22 means computing scrypt with 4 GiB
 * (128 * r * N): the check runs in a child whose address space is capped, so scrypt fails
 * for want of memory, which it reaches only past the limit check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fleet/age.h"
#include "fleet/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static int give_passphrase(void *ctx, const char *what, struct fl_buf *out)
{
	(void)ctx;
	(void)what;
	return fl_buf_puts(out, "pw");
}

/* A passphrase-encrypted file whose one scrypt stanza asks for 2^log_n. Salt, body and
 * MAC are arbitrary: the work factor is judged before any of them is used. */
static void decrypt_with_work_factor(int log_n, struct fl_error *result)
{
	char file[512];
	int n = snprintf(file, sizeof(file),
	                 "age-encryption.org/v1\n"
	                 "-> scrypt AAAAAAAAAAAAAAAAAAAAAA %d\n"
	                 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
	                 "--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
	                 log_n);
	memset(file + n, 0, 64); /* nonce and a chunk */
	struct fl_age_prompt prompt = {give_passphrase, NULL};
	struct fl_age_decrypt_opts opts = {.threads = 1, .prompt = &prompt};
	struct fl_age_identities none = {0};
	struct fl_age_mem_reader m = {(const uint8_t *)file, (size_t)n + 64, 0};
	struct fl_buf out = FL_BUF_SECRET;
	fl_error_clear();
	int rc = fl_age_decrypt(&none, &opts, fl_age_reader_mem(&m), fl_age_writer_buf(&out));
	assert_int_equal(rc, -1);
	*result = *fl_error_last();
	fl_buf_free(&out);
}

static void test_limit_is_22(void **state)
{
	(void)state;
	assert_int_equal(FL_AGE_SCRYPT_MAX_LOG_N, 22);
	struct fl_error e;
	decrypt_with_work_factor(23, &e);
	if (!strstr(e.message, "above the limit of 2^22"))
		fail_msg("2^23: %s", e.message);
	decrypt_with_work_factor(30, &e);
	assert_non_null(strstr(e.message, "above the limit"));
}

static void test_22_is_accepted(void **state)
{
	(void)state;
#ifdef UNDER_ASAN
	skip(); /* the sanitizer's shadow memory does not live under an address-space cap */
#else
	int pipefd[2];
	assert_int_equal(pipe(pipefd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* 1 GiB more than now: far below the 4 GiB scrypt at 2^22 needs. */
		struct rlimit rl;
		FILE *f = fopen("/proc/self/statm", "r");
		unsigned long pages = 0;
		if (f && fscanf(f, "%lu", &pages) != 1)
			pages = 0;
		if (f)
			fclose(f);
		rl.rlim_cur = rl.rlim_max = pages * (rlim_t)sysconf(_SC_PAGESIZE) + (1ul << 30);
		if (!pages || setrlimit(RLIMIT_AS, &rl) < 0)
			_exit(2);
		struct fl_error e;
		decrypt_with_work_factor(22, &e);
		ssize_t w = write(pipefd[1], e.message, strlen(e.message) + 1);
		_exit(w > 0 ? 0 : 3);
	}
	close(pipefd[1]);
	char msg[1100] = "";
	ssize_t got = read(pipefd[0], msg, sizeof(msg) - 1);
	close(pipefd[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(got > 0);
	/* Past the limit: scrypt itself ran out of (capped) memory. */
	if (strstr(msg, "above the limit") || !strstr(msg, "needs more memory"))
		fail_msg("2^22: %s", msg);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_limit_is_22),
	    cmocka_unit_test(test_22_is_accepted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
