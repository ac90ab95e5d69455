/* Unit tests for the evaluation cache's directory and files (src/inventory/cache_dir.c):
 * a file reads back only under its own name, untouched, never through a link; a
 * directory others can write to is refused with a reason naming it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "inventory/cache_dir.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[256];

static int setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "%s/fleet-cache-dir-XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(base))
		return -1;
	setenv("XDG_CACHE_HOME", base, 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static char *path_in(const struct cache_dir *d, const char *name)
{
	static char p[4200];
	snprintf(p, sizeof(p), "%s/%s", d->path, name);
	return p;
}

static void test_file_round_trip_and_mac(void **state)
{
	(void)state;
	struct cache_dir d;
	char why[1200];
	assert_int_equal(cache_dir_open(&d, why, sizeof(why)), 0);
	struct stat st;
	assert_int_equal(stat(path_in(&d, "mac-key"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 32);

	struct iovec parts[2] = {{"hello ", 6}, {"world", 5}};
	assert_int_equal(cache_file_write(&d, "a.snap", parts, 2), 0);
	assert_int_equal(stat(path_in(&d, "a.snap"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 11 + CACHE_MAC_BYTES);
	struct fl_buf b = FL_BUF_INIT;
	assert_int_equal(cache_file_read(&d, "a.snap", &b, 1 << 20), 0);
	assert_int_equal(b.len, 11);
	assert_string_equal(b.ptr, "hello world");
	/* Larger than max: a miss. */
	assert_int_equal(cache_file_read(&d, "a.snap", &b, 10), 1);

	/* The MAC binds the name: the same bytes under another name are a miss. */
	char cmd[9000];
	snprintf(cmd, sizeof(cmd), "cp '%s/a.snap' '%s/b.snap'", d.path, d.path);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(cache_file_read(&d, "b.snap", &b, 1 << 20), 1);

	/* One byte changed: a miss. */
	int fd = open(path_in(&d, "a.snap"), O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "j", 1, 0), 1);
	close(fd);
	assert_int_equal(cache_file_read(&d, "a.snap", &b, 1 << 20), 1);

	/* A symbolic link is never followed, and writing replaces it. */
	assert_int_equal(cache_file_write(&d, "c.snap", parts, 2), 0);
	char target[4200];
	snprintf(target, sizeof(target), "%s", path_in(&d, "c.snap"));
	assert_int_equal(symlink(target, path_in(&d, "link.snap")), 0);
	assert_int_equal(cache_file_read(&d, "link.snap", &b, 1 << 20), 1);
	struct iovec other = {"other", 5};
	assert_int_equal(cache_file_write(&d, "link.snap", &other, 1), 0);
	assert_int_equal(lstat(path_in(&d, "link.snap"), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(cache_file_read(&d, "c.snap", &b, 1 << 20), 0);
	assert_string_equal(b.ptr, "hello world");

	/* A missing file is a miss; no temporary file is left behind. */
	assert_int_equal(cache_file_read(&d, "none.snap", &b, 1 << 20), 1);
	snprintf(cmd, sizeof(cmd), "ls -A '%s' | grep -q tmp", d.path);
	assert_int_not_equal(system(cmd), 0);
	fl_buf_free(&b);

	/* The key is kept: a second open reads the same files. */
	cache_dir_close(&d);
	assert_int_equal(cache_dir_open(&d, why, sizeof(why)), 0);
	assert_int_equal(cache_file_read(&d, "c.snap", &b, 1 << 20), 0);
	fl_buf_free(&b);
	cache_dir_close(&d);
}

static void test_refused(void **state)
{
	(void)state;
	struct cache_dir d;
	char why[1200], dir[600];
	snprintf(dir, sizeof(dir), "%s/fleet", base);
	assert_int_equal(cache_dir_open(&d, why, sizeof(why)), 0);
	cache_dir_close(&d);

	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(cache_dir_open(&d, why, sizeof(why)), 1);
	assert_non_null(strstr(why, dir));
	assert_non_null(strstr(why, "writable by every user"));

	assert_int_equal(chmod(dir, 0770), 0);
	assert_int_equal(cache_dir_open(&d, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "writable by its group"));

	assert_int_equal(chmod(dir, 0700), 0);
	char eval[700], moved[700];
	snprintf(eval, sizeof(eval), "%s/eval", dir);
	snprintf(moved, sizeof(moved), "%s/elsewhere", base);
	assert_int_equal(rename(eval, moved), 0);
	assert_int_equal(symlink(moved, eval), 0);
	assert_int_equal(cache_dir_open(&d, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "eval is a symbolic link"));
	assert_int_equal(unlink(eval), 0);
	assert_int_equal(rename(moved, eval), 0);
	assert_int_equal(cache_dir_open(&d, why, sizeof(why)), 0);
	cache_dir_close(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_file_round_trip_and_mac, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
