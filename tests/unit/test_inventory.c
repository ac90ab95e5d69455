/* Unit tests for the Nix bridge's pure parts and the contract reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fleet/error.h"
#include "fleet/fileio.h"
#include "fleet/inventory.h"
#include "fleet/nix.h"
#include "inventory/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A section of ../shared/nix-outputs/nix-<v>.txt: the lines after "$ <cmd>" up to
 * "(exit N)". */
static char *nix_output(const char *version, const char *cmd)
{
	char path[4096];
	const char *shared = getenv("FLEET_SHARED");
	snprintf(path, sizeof(path), "%s/nix-outputs/nix-%s.txt", shared ? shared : "../../shared",
	         version);
	struct fl_buf b = FL_BUF_INIT;
	assert_int_equal(fl_read_file(path, &b, 1 << 20), 0);
	char marker[256];
	snprintf(marker, sizeof(marker), "$ %s\n", cmd);
	char *start = strstr(b.ptr, marker);
	assert_non_null(start);
	start += strlen(marker);
	char *end = strstr(start, "(exit ");
	assert_non_null(end);
	char *out = strndup(start, (size_t)(end - start));
	fl_buf_free(&b);
	return out;
}

static void test_version(void **state)
{
	(void)state;
	int v[3], lix;
	assert_int_equal(fl_nix_parse_version("nix (Nix) 2.8.0\n", v, &lix), 0);
	assert_int_equal(v[0] * 100 + v[1], 208);
	assert_int_equal(lix, 0);
	assert_int_equal(fl_nix_parse_version("nix (Nix) 2.26.3", v, &lix), 0);
	assert_int_equal(v[1], 26);
	assert_int_equal(fl_nix_parse_version("nix (Lix, like Nix) 2.91.1", v, &lix), 0);
	assert_int_equal(lix, 1);
	assert_int_equal(v[1], 91);
	assert_int_equal(fl_nix_parse_version("bash: nix: not found", v, &lix), -1);
}

static void test_path_info_both_shapes(void **state)
{
	(void)state;
	static const char *const versions[] = {"2.8", "2.26"};
	for (int i = 0; i < 2; i++) {
		char *text = nix_output(versions[i], "nix path-info -r --json "
		                                     "/nix/store/"
		                                     "dm5m0an0ycqbcyj9wnjc7q7ffyrdvzw0-toplevel");
		char *json = strchr(text, '[') &&
		                     (!strchr(text, '{') || strchr(text, '[') < strchr(text, '{'))
		                 ? strchr(text, '[')
		                 : strchr(text, '{');
		struct fl_nix_path_info *v;
		size_t n;
		assert_int_equal(fl_nix_parse_path_info(json, strlen(json), &v, &n), 0);
		assert_int_equal(n, 2);
		int found = 0;
		for (size_t k = 0; k < n; k++)
			if (strstr(v[k].path, "-toplevel")) {
				found = 1;
				assert_int_equal(v[k].nrefs, 1);
				assert_non_null(strstr(v[k].references[0], "dep-1.0"));
				assert_int_equal(v[k].nar_size, 336);
			}
		assert_true(found);
		fl_nix_path_info_free(v, n);
		free(text);
	}
	struct fl_nix_path_info *v;
	size_t n;
	assert_int_equal(fl_nix_parse_path_info("42", 2, &v, &n), -1);
	assert_int_equal(fl_nix_parse_path_info("[{}]", 4, &v, &n), -1);
}

static void test_build_json_both_shapes(void **state)
{
	(void)state;
	static const char *const versions[] = {"2.8", "2.26"};
	for (int i = 0; i < 2; i++) {
		char *text = nix_output(versions[i],
		                        "nix build --no-link --json .#packages.x86_64-linux.top");
		char *json = strstr(text, "[{");
		assert_non_null(json);
		char *nl = strchr(json, '\n');
		struct fl_buf out = FL_BUF_INIT;
		assert_int_equal(
		    fl_nix_parse_build_out(json, nl ? (size_t)(nl - json) : strlen(json), &out), 0);
		assert_string_equal(out.ptr,
		                    "/nix/store/dm5m0an0ycqbcyj9wnjc7q7ffyrdvzw0-toplevel");
		fl_buf_free(&out);
		free(text);
	}
}

static void test_trim_error(void **state)
{
	(void)state;
	static const char *const versions[] = {"2.8", "2.26"};
	for (int i = 0; i < 2; i++) {
		char *text = nix_output(versions[i], "nix eval --json .#typeerr");
		struct fl_buf out = FL_BUF_INIT;
		fl_nix_trim_error(text, &out);
		assert_null(strstr(out.ptr, "warning:"));
		assert_non_null(strstr(out.ptr, "error: cannot add a string to an integer"));
		assert_non_null(strstr(out.ptr, "flake.nix:12:19"));
		fl_buf_free(&out);
		free(text);
		text = nix_output(versions[i], "nix eval --json .#broken");
		fl_nix_trim_error(text, &out);
		assert_non_null(strstr(out.ptr, "this attribute is broken on purpose"));
		assert_null(strstr(out.ptr, "Git tree"));
		if (i == 1) {
			/* Nix 2.26 puts a bare "error:" first, then the trace with its location,
			 * then the message: all of it is kept. */
			assert_true(strncmp(out.ptr, "error:\n", 7) == 0);
			assert_non_null(strstr(out.ptr, "while calling the 'throw' builtin"));
			assert_non_null(strstr(out.ptr, "flake.nix:11:14"));
		}
		fl_buf_free(&out);
		free(text);
		text = nix_output(versions[i], "nix eval --json .#nosuchattr");
		fl_nix_trim_error(text, &out);
		/* One line, the same in both. */
		assert_string_equal(out.ptr,
		                    "error: flake 'git+file:///tmp/fixture' does not provide "
		                    "attribute 'packages.x86_64-linux.nosuchattr', "
		                    "'legacyPackages.x86_64-linux.nosuchattr' or 'nosuchattr'");
		fl_buf_free(&out);
		free(text);
	}
}

/* Hands out what the reader may see one byte at a time, as a pipe from nix may. */
struct byte_by_byte {
	const char *end;
};

static int byte_more(void *ctx, const char **end)
{
	const struct byte_by_byte *b = ctx;
	if (*end >= b->end)
		return 0;
	++*end;
	return 1;
}

/* `nix eval --json .#fleet`: Nix 2.26 ends the value with a newline, 2.8 does not. Read
 * both as fleet reads nix's stdout (inventory/load.c: streamed, generators skipped) and as
 * a whole. */
static void test_eval_json_both_shapes(void **state)
{
	(void)state;
	static const char *const versions[] = {"2.8", "2.26"};
	for (int i = 0; i < 2; i++) {
		char *text = nix_output(versions[i], "nix eval --json .#fleet");
		char *json = strchr(text, '{'); /* stdout: stderr's warning comes first */
		assert_non_null(json);
		size_t len = strlen(json);
		assert_int_equal(json[len - 1] == '\n', i == 1);

		struct byte_by_byte b = {json + len};
		struct fl_jsource src = {byte_more, &b};
		struct fl_jdoc doc;
		assert_int_equal(fl_jdoc_parse_stream(json, 1, &src, inventory_skip_path(), &doc),
		                 0);
		const struct fl_jv *web1 = fl_jv_get(fl_jv_get(doc.root, "machines"), "web1");
		assert_non_null(web1);
		assert_string_equal(fl_jv_get(web1, "machineClass")->str, "nixos");
		fl_jdoc_free(&doc);

		struct fl_inventory inv;
		assert_int_equal(fl_inventory_parse(json, len, &inv), 0);
		assert_int_equal(inv.nmachines, 1);
		assert_string_equal(inv.machines[0].name, "web1");
		assert_int_equal(inv.machines[0].tags.n, 1);
		assert_string_equal(inv.machines[0].tags.v[0], "vps");
		fl_inventory_free(&inv);
		free(text);
	}
}

static const char good[] =
    "{\"schemaVersion\":1,\"meta\":{\"name\":\"t\"},"
    "\"machines\":{\"web2\":{\"machineClass\":\"nixos\",\"system\":\"x86_64-linux\","
    "\"tags\":[\"vps\",\"eu\"],\"deploy\":{\"targetHost\":\"root@web2\",\"wave\":1,"
    "\"sshOptions\":[\"-p\",\"2222\"]},\"toplevel\":\"x.web2\",\"generators\":{\"ssh\":{"
    "\"share\":false,\"dependencies\":[],\"prompts\":{\"pw\":{\"type\":\"hidden\"}},"
    "\"files\":{\"key\":{\"secret\":true,\"mode\":\"0400\"}},\"script\":{\"drv\":\"/nix/store/"
    "a.drv\",\"path\":\"/nix/store/a\"}}}},"
    "\"web1\":{\"machineClass\":\"nixos\",\"system\":\"x86_64-linux\",\"tags\":[\"vps\"]},"
    "\"mac\":{\"machineClass\":\"darwin\",\"system\":\"aarch64-darwin\"}},"
    "\"instances\":{\"zt\":{\"module\":{\"name\":\"zerotier\",\"input\":null},\"roles\":{"
    "\"peer\":{\"machines\":[\"web1\",\"web2\"],\"settings\":{\"a\":1}}}}},\"overlays\":[]}";

static void test_contract_good(void **state)
{
	(void)state;
	struct fl_inventory inv;
	assert_int_equal(fl_inventory_parse(good, strlen(good), &inv), 0);
	assert_int_equal(inv.nmachines, 3);
	/* sorted by name */
	assert_string_equal(inv.machines[0].name, "mac");
	assert_string_equal(inv.machines[2].name, "web2");
	const struct fl_machine *m = fl_inventory_machine(&inv, "web2");
	assert_string_equal(m->target_host, "root@web2");
	assert_int_equal(m->wave, 1);
	assert_int_equal(m->ssh_options.n, 2);
	assert_int_equal(m->ngenerators, 1);
	assert_string_equal(m->generators[0].prompts[0].type, "hidden");
	assert_int_equal(m->generators[0].files[0].secret, 1);
	assert_string_equal(m->generators[0].script_drv, "/nix/store/a.drv");
	assert_int_equal(inv.ninstances, 1);
	assert_string_equal(inv.instances[0].roles[0].settings_json, "{\"a\":1}");
	assert_int_equal(inv.problems.n, 0);

	size_t *idx, n;
	const char *sel[] = {"@vps"};
	assert_int_equal(fl_inventory_select(&inv, sel, 1, &idx, &n), 0);
	assert_int_equal(n, 2);
	free(idx);
	const char *sel2[] = {"web*", "mac"};
	assert_int_equal(fl_inventory_select(&inv, sel2, 2, &idx, &n), 0);
	assert_int_equal(n, 3);
	free(idx);
	const char *sel3[] = {"web1", "db*"};
	assert_int_equal(fl_inventory_select(&inv, sel3, 2, &idx, &n), -1);
	assert_non_null(strstr(fl_error_last()->message, "db*"));
	assert_int_equal(fl_inventory_select(&inv, NULL, 0, &idx, &n), 0);
	assert_int_equal(n, 3);
	free(idx);
	fl_inventory_free(&inv);
}

static void test_contract_errors(void **state)
{
	(void)state;
	static const struct {
		const char *json, *needle;
	} bad[] = {
	    {"[]", "top level"},
	    {"{}", "schemaVersion"},
	    {"{\"schemaVersion\":2}", "schema version 2"},
	    {"{\"schemaVersion\":1,\"machines\":[]}", "machines"},
	    {"{\"schemaVersion\":1,\"machines\":{\"a\":{}}}", "machines.a.machineClass"},
	    {"{\"schemaVersion\":1,\"machines\":{\"a\":{\"machineClass\":\"nixos\",\"tags\":[1]}}}",
	     "machines.a.tags[0]"},
	    {"{\"schemaVersion\":1,\"machines\":{\"a\":{\"machineClass\":\"nixos\",\"deploy\":{"
	     "\"wave\":\"x\"}}}}",
	     "wave"},
	    {"{\"schemaVersion\":1,\"machines\":{\"a\":{\"machineClass\":\"nixos\",\"generators\":{"
	     "\"g\":{\"files\":{\"f\":{\"secret\":\"yes\"}}}}}}}",
	     "machines.a.generators.g.files.f.secret"},
	    {"{\"schemaVersion\":1,\"instances\":{\"i\":{\"roles\":{\"r\":{\"machines\":\"a\"}}}}}",
	     "instances.i.roles.r.machines"},
	    {"{\"schemaVersion\":1,", "bad JSON"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fl_inventory inv;
		assert_int_equal(fl_inventory_parse(bad[i].json, strlen(bad[i].json), &inv), -1);
		if (!strstr(fl_error_last()->message, bad[i].needle))
			fail_msg("%s: message \"%s\" lacks \"%s\"", bad[i].json,
			         fl_error_last()->message, bad[i].needle);
	}
	/* Semantic findings join the problem list instead of failing the read. */
	const char *sem = "{\"schemaVersion\":1,\"machines\":{\"a\":{\"machineClass\":\"bsd\"}},"
	                  "\"instances\":{\"i\":{\"roles\":{\"r\":{\"machines\":[\"ghost\"]}}}}}";
	struct fl_inventory inv;
	assert_int_equal(fl_inventory_parse(sem, strlen(sem), &inv), 0);
	assert_int_equal(inv.problems.n, 2);
	fl_inventory_free(&inv);
}

/* Schema 1 as issue 11 left it: a dependency may name another machine's generator
 * ("<machine>/<generator>"), read as any other dependency string; a script may have an
 * id and no drv/path (a per-system runtime). */
static void test_contract_cross_machine_dependency(void **state)
{
	(void)state;
	static const char json[] =
	    "{\"schemaVersion\":1,\"machines\":{\"ctl\":{\"machineClass\":\"nixos\","
	    "\"system\":\"x86_64-linux\",\"generators\":{\"authorized\":{\"dependencies\":["
	    "\"peer1/zerotier-identity\",\"zerotier-network\"],\"files\":{\"members\":{"
	    "\"secret\":false}},\"script\":{\"id\":\"ab12\",\"drv\":null,\"path\":null}}}},"
	    "\"peer1\":{\"machineClass\":\"nixos\",\"system\":"
	    "\"x86_64-linux\"}}}";
	struct fl_inventory inv;
	assert_int_equal(fl_inventory_parse(json, strlen(json), &inv), 0);
	const struct fl_machine *m = fl_inventory_machine(&inv, "ctl");
	assert_non_null(m);
	assert_int_equal(m->ngenerators, 1);
	assert_int_equal(m->generators[0].dependencies.n, 2);
	assert_string_equal(m->generators[0].dependencies.v[0], "peer1/zerotier-identity");
	assert_string_equal(m->generators[0].dependencies.v[1], "zerotier-network");
	assert_int_equal(m->generators[0].files[0].secret, 0);
	/* a per-system runtime: the id only; the scripts are in fleetScripts.<system> */
	assert_string_equal(m->generators[0].script_id, "ab12");
	assert_null(m->generators[0].script_drv);
	assert_null(m->generators[0].script_path);
	assert_int_equal(inv.problems.n, 0);
	fl_inventory_free(&inv);
}

static void test_snapshot_round_trip(void **state)
{
	(void)state;
	struct fl_inventory inv, back;
	struct fl_buf core = FL_BUF_INIT, gens = FL_BUF_INIT;
	struct iovec parts[2];
	/* Read without generators, as a cold `inventory list` does: they are stored as
	 * they came, and read when a later command wants them. */
	assert_int_equal(fl_inventory_parse_owned(strdup(good), strlen(good), &inv), 0);
	assert_int_equal(fl_inventory_machine(&inv, "web2")->generators_read, 0);
	assert_int_equal(fl_inventory_machine(&inv, "web2")->ngenerators, 0);
	assert_int_equal(inventory_snapshot_write(&inv, &core), 0);
	inventory_snapshot_generators(&inv, parts);
	for (int i = 0; i < 2; i++)
		fl_buf_put(&gens, parts[i].iov_base, parts[i].iov_len);
	char *c = malloc(core.len), *g = malloc(gens.len);
	memcpy(c, core.ptr, core.len);
	memcpy(g, gens.ptr, gens.len);
	assert_int_equal(inventory_snapshot_read(c, core.len, &back), 0);
	assert_int_equal(inventory_snapshot_read_generators(g, gens.len, &back), 0);
	/* One machine's generators, then all of them. */
	size_t web2 = (size_t)(fl_inventory_machine(&back, "web2") - back.machines);
	assert_int_equal(fl_inventory_load_generators(&back, &web2, 1), 0);
	assert_int_equal(back.machines[web2].generators_read, 1);
	assert_int_equal(back.machines[0].generators_read, 0);
	assert_int_equal(fl_inventory_load_generators(&back, NULL, 0), 0);
	assert_int_equal(back.nmachines, inv.nmachines);
	for (size_t i = 0; i < inv.nmachines; i++) {
		assert_string_equal(back.machines[i].name, inv.machines[i].name);
		assert_int_equal(back.machines[i].tags.n, inv.machines[i].tags.n);
		assert_int_equal(back.machines[i].ngenerators,
		                 strcmp(inv.machines[i].name, "web2") == 0 ? 1 : 0);
		assert_int_equal(back.machines[i].wave, inv.machines[i].wave);
	}
	const struct fl_machine *m = fl_inventory_machine(&back, "web2");
	assert_string_equal(m->generators[0].files[0].mode, "0400");
	assert_string_equal(m->generators[0].script_path, "/nix/store/a");
	assert_string_equal(back.instances[0].roles[0].settings_json, "{\"a\":1}");
	fl_inventory_free(&back);
	/* Every truncation of either part fails cleanly. */
	for (size_t cut = 0; cut < core.len; cut++) {
		char *t = malloc(cut + 1);
		memcpy(t, core.ptr, cut);
		if (inventory_snapshot_read(t, cut, &back) == 0)
			fail_msg("a core snapshot cut at %zu read", cut);
		free(t);
	}
	for (size_t cut = 0; cut < gens.len; cut++) {
		char *t = malloc(core.len), *u = malloc(cut + 1);
		memcpy(t, core.ptr, core.len);
		memcpy(u, gens.ptr, cut);
		assert_int_equal(inventory_snapshot_read(t, core.len, &back), 0);
		if (inventory_snapshot_read_generators(u, cut, &back) == 0)
			fail_msg("a generators snapshot cut at %zu read", cut);
		free(u);
		fl_inventory_free(&back);
	}
	fl_inventory_free(&inv);
	fl_buf_free(&core);
	fl_buf_free(&gens);
}

/* Generators skipped by a read are checked when read from the cache: a type error in
 * them is reported then, with its path. */
static void test_skipped_generators_checked_later(void **state)
{
	(void)state;
	const char *json = "{\"schemaVersion\":1,\"machines\":{\"a\":{\"machineClass\":"
	                   "\"nixos\",\"generators\":{\"g\":{\"files\":{\"f\":{\"secret\":"
	                   "\"yes\"}}}}}}}";
	struct fl_inventory inv;
	assert_int_equal(fl_inventory_parse(json, strlen(json), &inv), -1);
	assert_non_null(strstr(fl_error_last()->message, "machines.a.generators.g.files.f.secret"));
	assert_int_equal(fl_inventory_parse_owned(strdup(json), strlen(json), &inv), 0);
	struct fl_buf core = FL_BUF_INIT, gens = FL_BUF_INIT;
	struct iovec parts[2];
	assert_int_equal(inventory_snapshot_write(&inv, &core), 0);
	inventory_snapshot_generators(&inv, parts);
	for (int i = 0; i < 2; i++)
		fl_buf_put(&gens, parts[i].iov_base, parts[i].iov_len);
	fl_inventory_free(&inv);
	struct fl_inventory back;
	size_t core_len = core.len, gens_len = gens.len;
	char *c = fl_buf_detach(&core), *g = fl_buf_detach(&gens);
	assert_int_equal(inventory_snapshot_read(c, core_len, &back), 0);
	assert_int_equal(inventory_snapshot_read_generators(g, gens_len, &back), 0);
	assert_int_equal(fl_inventory_load_generators(&back, NULL, 0), -1);
	assert_non_null(strstr(fl_error_last()->message, "machines.a.generators.g.files.f.secret"));
	fl_inventory_free(&back);
	/* Still an error for the generators when they are not an attribute set at all. */
	const char *notset = "{\"schemaVersion\":1,\"machines\":{\"a\":{\"machineClass\":"
	                     "\"nixos\",\"generators\":[1]}}}";
	assert_int_equal(fl_inventory_parse_owned(strdup(notset), strlen(notset), &inv), -1);
	assert_non_null(strstr(fl_error_last()->message, "machines.a.generators"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_version),
	    cmocka_unit_test(test_path_info_both_shapes),
	    cmocka_unit_test(test_build_json_both_shapes),
	    cmocka_unit_test(test_trim_error),
	    cmocka_unit_test(test_eval_json_both_shapes),
	    cmocka_unit_test(test_contract_good),
	    cmocka_unit_test(test_contract_errors),
	    cmocka_unit_test(test_contract_cross_machine_dependency),
	    cmocka_unit_test(test_snapshot_round_trip),
	    cmocka_unit_test(test_skipped_generators_checked_later),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
