/* Fuzzes the shlex splitter (SOPS_EDITOR, EDITOR, SOPS_AGE_KEY_CMD): whatever splits
 * must split again to the same words once each word is single-quoted and the words are
 * joined with spaces; nothing may crash or leak. */
#include "fleet/buf.h"
#include "fleet/process.h"
#include "fleet/shlex.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	char **words = fl_shlex_split(s, "EDITOR");
	free(s);
	if (!words)
		return 0;
	struct fl_buf joined = FL_BUF_INIT;
	for (size_t i = 0; words[i]; i++) {
		/* shlex: '…' is literal; a quote inside is closed, escaped, reopened. */
		fl_buf_puts(&joined, i ? " '" : "'");
		for (const char *p = words[i]; *p; p++)
			if (*p == '\'')
				fl_buf_puts(&joined, "'\\''");
			else
				fl_buf_putc(&joined, *p);
		fl_buf_putc(&joined, '\'');
	}
	char **again = fl_shlex_split(joined.ptr ? joined.ptr : "", "EDITOR");
	if (!again)
		abort();
	size_t i = 0;
	for (; words[i]; i++)
		if (!again[i] || strcmp(words[i], again[i]) != 0)
			abort();
	if (again[i])
		abort();
	fl_argv_free(again);
	fl_argv_free(words);
	fl_buf_free(&joined);
	return 0;
}
