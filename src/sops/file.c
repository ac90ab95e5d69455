/* A sops file as a whole: formats, and the metadata's placement in each format. */
#include "fleet/error.h"
#include "fleet/sops.h"
#include "sops/internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const char *const format_names[] = {"yaml", "json", "dotenv", "ini", "binary"};

int fl_sops_format_parse(const char *name, enum fl_sops_format *out)
{
	for (int i = 0; i < 5; i++)
		if (strcmp(name, format_names[i]) == 0) {
			*out = (enum fl_sops_format)i;
			return 0;
		}
	if (strcmp(name, "yml") == 0) {
		*out = FL_SOPS_YAML;
		return 0;
	}
	return fl_error_set(FL_E_INVALID,
	                    "unknown format \"%s\" (expected yaml, json, dotenv, ini or binary)",
	                    name);
}

const char *fl_sops_format_name(enum fl_sops_format f)
{
	return format_names[f];
}

enum fl_sops_format fl_sops_format_for_path(const char *path)
{
	const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
	if (!dot || (slash && dot < slash))
		return FL_SOPS_BINARY;
	if (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml"))
		return FL_SOPS_YAML;
	if (!strcmp(dot, ".json"))
		return FL_SOPS_JSON;
	if (!strcmp(dot, ".env"))
		return FL_SOPS_DOTENV;
	if (!strcmp(dot, ".ini"))
		return FL_SOPS_INI;
	return FL_SOPS_BINARY;
}

void fl_sops_file_free(struct fl_sops_file *f)
{
	fl_docs_free(&f->docs);
	sops_metadata_free(&f->md);
	memset(f, 0, sizeof(*f));
}

static int parse_store(enum fl_sops_format fmt, const char *data, size_t len, struct fl_docs *docs)
{
	switch (fmt) {
	case FL_SOPS_YAML:
		return fl_doc_parse_yaml(data, len, docs);
	case FL_SOPS_JSON:
	case FL_SOPS_BINARY:
		return fl_doc_parse_json(data, len, docs);
	case FL_SOPS_DOTENV:
		return fl_doc_parse_dotenv(data, len, docs);
	case FL_SOPS_INI:
		return fl_doc_parse_ini(data, len, docs);
	}
	return fl_error_set(FL_E_INVALID, "unknown format");
}

static int replace_all(struct fl_doc *d, const char *from, const char *to)
{
	/* INI keeps metadata on one line per key: newlines travel as "\n". */
	if (d->type == FL_DOC_MAP || d->type == FL_DOC_LIST) {
		for (size_t i = 0; i < d->n; i++)
			if (replace_all(d->items[i].value, from, to) < 0)
				return -1;
		return 0;
	}
	if (!d->text || !strstr(d->text, from))
		return 0;
	struct fl_buf b = FL_BUF_INIT;
	size_t fl = strlen(from);
	for (const char *p = d->text; *p;) {
		if (strncmp(p, from, fl) == 0) {
			if (fl_buf_puts(&b, to) < 0)
				return -1;
			p += fl;
		} else if (fl_buf_putc(&b, *p++) < 0) {
			return -1;
		}
	}
	int rc = fl_doc_set_text(d, b.ptr ? b.ptr : "", b.len);
	fl_buf_free(&b);
	return rc;
}

/* Takes the metadata out of the documents, per sops' layout for each format. */
static int extract_metadata(struct fl_sops_file *f)
{
	if (f->docs.n == 0 || f->docs.v[0]->type != FL_DOC_MAP)
		return fl_error_set(FL_E_NOTFOUND,
		                    "no sops metadata: the file's top level is not a mapping");
	struct fl_doc *root = f->docs.v[0];
	struct fl_doc *md = NULL;
	int rc = -1;
	if (f->format == FL_SOPS_DOTENV) {
		md = fl_doc_new(FL_DOC_MAP);
		if (!md || fl_doc_unflatten(root, "sops_", md) < 0)
			goto out;
		/* One compaction pass (removing one by one would move the rest each time). */
		size_t kept = 0;
		for (size_t i = 0; i < root->n; i++) {
			struct fl_doc_entry *e = &root->items[i];
			if (e->key && strncmp(e->key, "sops_", 5) == 0) {
				free(e->key);
				fl_doc_free(e->value);
			} else {
				root->items[kept++] = *e;
			}
		}
		root->n = kept;
		if (md->n == 0) {
			fl_error_set(FL_E_NOTFOUND,
			             "no sops metadata (no sops_* keys): the file is "
			             "not encrypted by sops");
			goto out;
		}
	} else {
		long i = fl_doc_index(root, "sops");
		if (i < 0) {
			fl_error_set(
			    FL_E_NOTFOUND,
			    "no sops metadata (no \"sops\" key): the file is not encrypted "
			    "by sops");
			goto out;
		}
		struct fl_doc *section = root->items[i].value;
		if (f->format == FL_SOPS_INI) {
			md = fl_doc_new(FL_DOC_MAP);
			if (!md || replace_all(section, "\\n", "\n") < 0 ||
			    fl_doc_unflatten(section, "", md) < 0)
				goto out;
		} else {
			md = section;
			root->items[i].value = NULL;
		}
		fl_doc_remove(root, (size_t)i);
		/* sops: metadata is repeated in every YAML document; the first one counts. */
		for (size_t d = 1; d < f->docs.n; d++) {
			long j = fl_doc_index(f->docs.v[d], "sops");
			if (j >= 0)
				fl_doc_remove(f->docs.v[d], (size_t)j);
		}
	}
	rc = sops_metadata_from_doc(&f->md, md);
out:
	fl_doc_free(md);
	return rc;
}

int fl_sops_load(struct fl_sops_file *f, const char *data, size_t len, enum fl_sops_format fmt)
{
	memset(f, 0, sizeof(*f));
	f->format = fmt;
	if (parse_store(fmt, data, len, &f->docs) < 0 || extract_metadata(f) < 0) {
		fl_sops_file_free(f);
		return -1;
	}
	if (fmt == FL_SOPS_BINARY) {
		const struct fl_doc *d = fl_doc_get(f->docs.v[0], "data");
		if (!d || d->type != FL_DOC_STR) {
			fl_sops_file_free(f);
			return fl_error_set(FL_E_INVALID,
			                    "a binary sops file must hold a \"data\" string");
		}
	}
	return 0;
}

int fl_sops_load_plain(struct fl_sops_file *f, const char *data, size_t len,
                       enum fl_sops_format fmt)
{
	memset(f, 0, sizeof(*f));
	f->format = fmt;
	f->decrypted = 1;
	if (fmt == FL_SOPS_BINARY) {
		struct fl_doc *root = fl_doc_new(FL_DOC_MAP);
		struct fl_doc *v = fl_doc_new_scalar(FL_DOC_STR, data, len);
		if (!root || !v || fl_doc_append(root, "data", v) < 0 ||
		    fl_docs_append(&f->docs, root) < 0) {
			if (!v)
				fl_doc_free(root);
			fl_sops_file_free(f);
			return -1;
		}
		return 0;
	}
	if (parse_store(fmt, data, len, &f->docs) < 0) {
		fl_sops_file_free(f);
		return -1;
	}
	for (size_t d = 0; d < f->docs.n; d++) {
		const struct fl_doc *root = f->docs.v[d];
		int reserved = fmt == FL_SOPS_DOTENV ? 0 : fl_doc_index(root, "sops") >= 0;
		for (size_t i = 0; fmt == FL_SOPS_DOTENV && i < root->n; i++)
			reserved |= root->items[i].key && !strncmp(root->items[i].key, "sops_", 5);
		if (reserved) {
			fl_sops_file_free(f);
			return fl_error_set(FL_E_INVALID,
			                    "the file already has sops metadata (a \"sops\" key): "
			                    "it is encrypted, or uses the reserved key");
		}
	}
	return 0;
}

static int emit_store(enum fl_sops_format fmt, const struct fl_docs *docs, struct fl_buf *out)
{
	switch (fmt) {
	case FL_SOPS_YAML:
		return fl_doc_emit_yaml(docs, out);
	case FL_SOPS_JSON:
	case FL_SOPS_BINARY:
		return fl_doc_emit_json(docs, out);
	case FL_SOPS_DOTENV:
		return fl_doc_emit_dotenv(docs, out);
	case FL_SOPS_INI:
		return fl_doc_emit_ini(docs, out);
	}
	return fl_error_set(FL_E_INVALID, "unknown format");
}

/* Appends the metadata to a document root in the format's layout; returns how many
 * entries were appended so the caller can take them off again. */
static long attach_metadata(const struct fl_sops_file *f, enum fl_sops_format fmt,
                            struct fl_doc *root)
{
	struct fl_doc *md = sops_metadata_to_doc(&f->md);
	if (!md)
		return -1;
	size_t before = root->n;
	if (fmt == FL_SOPS_DOTENV || fmt == FL_SOPS_INI) {
		struct fl_doc *flat = fl_doc_new(FL_DOC_MAP);
		int rc = flat ? fl_doc_flatten(md, fmt == FL_SOPS_DOTENV ? "sops_" : "", flat) : -1;
		fl_doc_free(md);
		if (rc == 0 && fmt == FL_SOPS_INI)
			rc = replace_all(flat, "\n", "\\n");
		if (rc < 0) {
			fl_doc_free(flat);
			return -1;
		}
		if (fmt == FL_SOPS_INI)
			return fl_doc_append(root, "sops", flat) < 0 ? -1 : 1;
		for (size_t i = 0; i < flat->n; i++) {
			struct fl_doc *v = flat->items[i].value;
			flat->items[i].value = NULL;
			if (fl_doc_append(root, flat->items[i].key, v) < 0) {
				fl_doc_free(flat);
				return -1;
			}
		}
		fl_doc_free(flat);
		return (long)(root->n - before);
	}
	return fl_doc_append(root, "sops", md) < 0 ? -1 : 1;
}

int fl_sops_emit(const struct fl_sops_file *f, enum fl_sops_format fmt, struct fl_buf *out)
{
	if (f->decrypted) {
		if (fmt == FL_SOPS_BINARY) {
			const struct fl_doc *d =
			    f->docs.n ? fl_doc_get(f->docs.v[0], "data") : NULL;
			if (!d || !d->text)
				return fl_error_set(FL_E_INVALID,
				                    "binary output needs a \"data\" value");
			return fl_buf_put(out, d->text, d->len);
		}
		return emit_store(fmt, &f->docs, out);
	}
	/* Attach metadata to every document (as sops does), emit, detach again. */
	struct fl_docs *docs = (struct fl_docs *)&f->docs;
	long *added = calloc(docs->n ? docs->n : 1, sizeof(long));
	if (!added)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	int rc = 0;
	for (size_t d = 0; rc == 0 && d < docs->n; d++) {
		if (docs->v[d]->type != FL_DOC_MAP) {
			rc = fl_error_set(FL_E_INVALID, "sops needs a mapping at the top level");
			break;
		}
		added[d] = attach_metadata(f, fmt, docs->v[d]);
		if (added[d] < 0)
			rc = -1;
	}
	if (rc == 0)
		rc = emit_store(fmt, docs, out);
	for (size_t d = 0; d < docs->n; d++)
		for (long k = 0; k < added[d]; k++)
			fl_doc_remove(docs->v[d], docs->v[d]->n - 1);
	free(added);
	return rc;
}
