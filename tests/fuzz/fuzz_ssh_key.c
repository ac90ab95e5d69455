/* Fuzzes the SSH key readers (OpenSSH and PEM private keys, authorized_keys lines) and
 * age identity files: arbitrary bytes parse or fail with an error, never crash. Locked
 * keys are not unlocked: bcrypt's cost is the key file's to choose. */
#include "age/ssh_key.h"
#include "fleet/age.h"
#include "fleet/error.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	struct fl_ssh_privkey k;
	if (fl_ssh_privkey_parse(&k, (const char *)data, size, "fuzz") == 0) {
		if (!k.locked && k.pub.type != FL_SSH_ED25519 && k.pub.type != FL_SSH_RSA)
			abort();
		fl_ssh_privkey_clear(&k);
	} else if (fl_error_last()->klass == FL_E_NONE) {
		abort();
	}

	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	struct fl_ssh_pubkey pub;
	if (fl_ssh_pubkey_parse(&pub, s) == 0)
		fl_ssh_pubkey_clear(&pub);
	free(s);

	struct fl_age_identities ids = {0};
	(void)fl_age_identities_parse_file(&ids, (const char *)data, size, "fuzz", NULL);
	fl_age_identities_free(&ids);
	struct fl_age_recipients rs = {0};
	(void)fl_age_recipients_parse_file(&rs, (const char *)data, size, "fuzz");
	fl_age_recipients_free(&rs);
	return 0;
}
