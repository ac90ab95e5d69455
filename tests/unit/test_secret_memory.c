/* Key material stays out of core dumps: secret buffers of a page or more lie in memory
 * marked MADV_DONTDUMP (the "dd" flag of their mapping in /proc/self/smaps), ordinary
 * buffers do not; and the process-wide switch leaves RLIMIT_CORE at 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fleet/buf.h"
#include "fleet/process.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#ifdef __linux__
/* The VmFlags line of the mapping holding addr: 1 if it has "dd", 0 if not, -1 if none. */
static int excluded_from_dumps(const void *addr)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	char line[512];
	int inside = 0, found = -1;
	uintptr_t a = (uintptr_t)addr;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' '))
			inside = a >= lo && a < hi;
		else if (inside && !strncmp(line, "VmFlags:", 8)) {
			found = strstr(line, " dd") != NULL;
			break;
		}
	}
	fclose(f);
	return found;
}

static void test_secret_buffers_are_not_dumped(void **state)
{
	(void)state;
	struct fl_buf secret = FL_BUF_SECRET, plain = FL_BUF_INIT;
	/* Large enough for every byte to sit in whole pages of its own. */
	assert_int_equal(fl_buf_grow(&secret, 1 << 20), 0);
	assert_int_equal(fl_buf_grow(&plain, 1 << 20), 0);
	assert_int_equal(excluded_from_dumps(secret.ptr), 1);
	assert_int_equal(excluded_from_dumps(secret.ptr + secret.cap - 1), 1);
	assert_int_equal(excluded_from_dumps(plain.ptr), 0);
	/* Growing moves it into memory that is excluded too. */
	assert_int_equal(fl_buf_grow(&secret, 8 << 20), 0);
	assert_int_equal(excluded_from_dumps(secret.ptr), 1);
	assert_int_equal(excluded_from_dumps(secret.ptr + secret.cap - 1), 1);
	fl_buf_free(&secret);
	fl_buf_free(&plain);
}
#endif

static void test_core_limit_is_zero(void **state)
{
	(void)state;
	assert_int_equal(fl_core_dumps_disable(), 0);
	struct rlimit rl;
	assert_int_equal(getrlimit(RLIMIT_CORE, &rl), 0);
	assert_true(rl.rlim_cur == 0 && rl.rlim_max == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#ifdef __linux__
	    cmocka_unit_test(test_secret_buffers_are_not_dumped),
#endif
	    cmocka_unit_test(test_core_limit_is_zero),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
