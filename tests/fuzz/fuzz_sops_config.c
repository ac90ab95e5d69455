/* Fuzzes the .sops.yaml reader: the YAML, the creation rules and their path_regex (RE2),
 * matched against a few file paths; a rule that matches is then resolved as the CLI does
 * (the one-rule check and the default unencrypted_suffix), and its regexes are compiled
 * by encrypting a small document with them. */
#include "fleet/error.h"
#include "fleet/sops.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = {"secrets/app.yaml", "hosts/host12.yaml", "a.env", ""};
	static const uint8_t key[FL_SOPS_KEY_LEN] = {7};
	if (size > 1 << 16)
		return 0;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct fl_sops_creation_rule rule = {0};
		int rc = fl_sops_config_match((const char *)data, size, "fuzz/.sops.yaml", paths[i],
		                              &rule);
		if (rc < 0 && fl_error_last()->klass == FL_E_NONE)
			abort();
		if (!rule.config_path)
			abort();
		if (rc == 0) {
			for (size_t g = 0; g < rule.keys.ngroups; g++)
				for (size_t a = 0; a < rule.keys.groups[g].nage; a++)
					if (!rule.keys.groups[g].age[a] ||
					    !*rule.keys.groups[g].age[a])
						abort();
			struct fl_sops_rules cli = {0};
			struct fl_sops_file f;
			if (fl_sops_rules_resolve(&cli, &rule.rules) == 0 &&
			    fl_sops_load_plain(&f, "# c\nk_unencrypted: v\nx: [1, {y: z}]\n", 35,
			                       FL_SOPS_YAML) == 0) {
				f.md.rules = cli;
				memset(&cli, 0, sizeof(cli));
				(void)fl_sops_encrypt(&f, key, NULL);
				fl_sops_file_free(&f);
			}
			fl_sops_rules_free(&cli);
		}
		fl_sops_creation_rule_free(&rule);
	}
	return 0;
}
