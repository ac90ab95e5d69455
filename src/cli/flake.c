#include "cli/flake.h"
#include "fleet/error.h"

#include <stdlib.h>
#include <string.h>

const struct cli_flag cli_global_flags[] = {CLI_FLAKE_FLAGS, CLI_JSON_FLAG, {NULL, 0, NULL, NULL}};

int cli_flake_flag(struct cli_flake *ctx, const struct cli_command *cmd, int id, const char *arg)
{
	switch (id) {
	case CLI_OPT_FLAKE:
		ctx->flake_arg = arg;
		return 1;
	case CLI_OPT_NO_CACHE:
		ctx->no_cache = 1;
		return 1;
	case CLI_OPT_JSON:
		ctx->json = 1;
		return 1;
	case CLI_OPT_OPTION: {
		const char *eq = strchr(arg, '=');
		if (!eq || eq == arg)
			return cli_usage_error(cmd, "--option wants NAME=VALUE, not '%s'", arg);
		const char **v = realloc(ctx->options, (ctx->noptions + 2) * sizeof(char *));
		if (!v)
			return cli_fail("out of memory");
		ctx->options = v;
		ctx->options[ctx->noptions++] = strndup(arg, (size_t)(eq - arg));
		ctx->options[ctx->noptions++] = strdup(eq + 1);
		return 1;
	}
	}
	return 0;
}

int cli_flake_load(struct cli_flake *ctx, enum cli_problems problems)
{
	fl_nix_init(&ctx->nix);
	ctx->nix.options = ctx->options;
	ctx->nix.noptions = ctx->noptions;
	ctx->nix.timeout_sec = 3600;
	if (fl_flake_find(ctx->flake_arg, &ctx->flake) < 0)
		return cli_fail_lib();
	struct fl_inventory_load ld = {.flake = ctx->flake.ptr,
	                               .nix = &ctx->nix,
	                               .no_cache = ctx->no_cache,
	                               .want_generators = ctx->want_generators};
	int rc = fl_inventory_load(&ld, &ctx->inv);
	if (ld.cache_warning[0])
		fprintf(stderr, "fleet: warning: %s\n", ld.cache_warning);
	if (rc < 0) {
		fl_error_prefix("%s: ", ctx->flake.ptr);
		return cli_fail_lib();
	}
	ctx->loaded = 1;
	size_t n = ctx->inv.problems.n;
	if (n && problems == CLI_PROBLEMS_WARN) {
		fprintf(stderr,
		        "fleet: warning: the fleet configuration in %s has %zu problem%s; "
		        "'fleet inventory validate%s%s' lists %s\n",
		        ctx->flake.ptr, n, n == 1 ? "" : "s", ctx->flake_arg ? " --flake " : "",
		        ctx->flake_arg ? ctx->flake.ptr : "", n == 1 ? "it" : "them");
	} else if (n && problems == CLI_PROBLEMS_REFUSE) {
		fprintf(stderr, "fleet: %s: the fleet configuration has %zu problem%s:\n",
		        ctx->flake.ptr, ctx->inv.problems.n, ctx->inv.problems.n == 1 ? "" : "s");
		for (size_t i = 0; i < ctx->inv.problems.n; i++)
			fprintf(stderr, "  - %s\n", cli_printable(ctx->inv.problems.v[i]));
		return CLI_EXIT_FAIL;
	}
	return 0;
}

void cli_flake_free(struct cli_flake *ctx)
{
	for (size_t i = 0; i < ctx->noptions; i++)
		free((char *)ctx->options[i]);
	free(ctx->options);
	fl_buf_free(&ctx->flake);
	if (ctx->loaded)
		fl_inventory_free(&ctx->inv);
}

int cli_print_json(json_t *j)
{
	if (!j)
		return cli_fail("out of memory");
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	json_decref(j);
	if (!s)
		return cli_fail("out of memory");
	puts(s);
	free(s);
	return CLI_EXIT_OK;
}

void cli_table_init(struct cli_table *t, size_t ncols, const char *const *header)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	cli_table_row(t, header);
}

void cli_table_row(struct cli_table *t, const char *const *cols)
{
	if ((t->nrows + 1) * t->ncols > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : t->ncols * 16;
		char **c = realloc(t->cells, cap * sizeof(char *));
		if (!c)
			return;
		t->cells = c;
		t->cap = cap;
	}
	for (size_t i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = strdup(cols[i] ? cli_printable(cols[i]) : "-");
	t->nrows++;
}

void cli_table_print(struct cli_table *t)
{
	size_t *w = calloc(t->ncols, sizeof(size_t));
	for (size_t r = 0; w && r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t n = strlen(t->cells[r * t->ncols + c]);
			if (n > w[c])
				w[c] = n;
		}
	for (size_t r = 0; w && r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *cell = t->cells[r * t->ncols + c];
			if (c + 1 == t->ncols)
				printf("%s\n", cell);
			else
				printf("%-*s  ", (int)w[c], cell);
		}
	}
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(w);
}
