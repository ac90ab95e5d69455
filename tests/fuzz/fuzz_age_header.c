/* Fuzzes the age header parser and, behind it, stanza unwrapping and the STREAM
 * payload: arbitrary bytes must give success or a classified error, never a crash. */
#include "age/internal.h"
#include "fleet/error.h"

#include <stdlib.h>

static int discard(void *ctx, const void *buf, size_t n)
{
	(void)ctx;
	(void)buf;
	(void)n;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fl_age_identities ids;

/* Identities live in sodium_malloc memory, which LeakSanitizer does not scan for
 * pointers: what they hold would look leaked unless they are freed before it looks. */
static void free_ids(void)
{
	fl_age_identities_free(&ids);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	struct fl_age_identity *id;
	/* The identity of the CCTV vectors, so seeds reach the payload. */
	if (fl_age_identity_parse(&id, "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMD"
	                               "KWYKLMGR48UAWX40Q2P2LM0") == 0)
		fl_age_identities_add(&ids, id);
	/* A cheap passphrase identity: the work-factor limit keeps scrypt fast. */
	if (fl_age_identity_scrypt(&id, "password", 8, 8) == 0)
		fl_age_identities_add(&ids, id);
	atexit(free_ids);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_age_mem_reader m = {data, size, 0};
	struct age_bufreader br;
	struct age_header h;
	if (age_bufreader_init(&br, fl_age_reader_mem(&m), 4096) == 0) {
		if (age_header_parse(&h, &br) == 0 && h.n == 0)
			abort(); /* the parser promises at least one stanza */
		age_header_free(&h);
		age_bufreader_free(&br);
	}

	struct fl_age_mem_reader m2 = {data, size, 0};
	struct fl_age_decrypt_opts o = {.threads = 1};
	struct fl_age_writer w = {discard, NULL};
	if (fl_age_decrypt(&ids, &o, fl_age_reader_mem(&m2), w) < 0 &&
	    fl_error_last()->klass == FL_E_NONE)
		abort(); /* every failure must say what failed */
	return 0;
}
