/* Fuzzes the ASCII armor decoder: arbitrary bytes decode or fail as armor/IO errors. */
#include "age/internal.h"
#include "fleet/error.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_age_mem_reader m = {data, size, 0};
	struct age_bufreader br;
	struct age_armor_reader *ar = NULL;
	if (age_bufreader_init(&br, fl_age_reader_mem(&m), 1024) < 0)
		return 0;
	if (age_armor_reader_new(&ar, &br) == 0) {
		struct fl_age_reader r = age_armor_reader_as_reader(ar);
		uint8_t buf[700];
		size_t total = 0;
		ssize_t n;
		while ((n = r.read(r.ctx, buf, sizeof(buf))) > 0)
			total += (size_t)n;
		/* base64 never expands: decoded output is shorter than the input. */
		if (total > size)
			abort();
		if (n < 0 && fl_error_last()->klass != FL_E_AGE_ARMOR)
			abort();
	} else if (fl_error_last()->klass != FL_E_AGE_ARMOR) {
		abort();
	}
	age_armor_reader_free(ar);
	age_bufreader_free(&br);
	return 0;
}
