/* Fuzzes the Bech32 decoder: anything that decodes must re-encode to the same string
 * (in lowercase), and age recipient/identity parsing must never crash. */
#include "fleet/age.h"
#include "fleet/bech32.h"

#include <ctype.h>
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

	char hrp[128];
	uint8_t out[4096];
	size_t n;
	if (fl_bech32_decode(s, hrp, sizeof(hrp), out, sizeof(out), &n) == 0) {
		struct fl_buf again = FL_BUF_INIT;
		if (fl_bech32_encode(&again, hrp, out, n, 0) < 0)
			abort();
		for (size_t i = 0; i < strlen(s); i++)
			s[i] = (char)tolower((unsigned char)s[i]);
		if (strcmp(again.ptr, s) != 0)
			abort();
		fl_buf_free(&again);
	}

	struct fl_age_recipient *r;
	if (fl_age_recipient_parse(&r, s) == 0)
		fl_age_recipient_free(r);
	struct fl_age_identity *id;
	if (fl_age_identity_parse(&id, s) == 0)
		fl_age_identity_free(id);
	free(s);
	return 0;
}
