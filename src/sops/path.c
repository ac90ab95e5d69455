/* Key paths as sops writes them: ["key"][0]["other"]. */
#include "fleet/error.h"
#include "fleet/sops.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void fl_sops_path_free(struct fl_sops_path *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->keys[i]);
	free(p->keys);
	free(p->idx);
	memset(p, 0, sizeof(*p));
}

static int path_push(struct fl_sops_path *p, char *key, long idx)
{
	char **k = realloc(p->keys, (p->n + 1) * sizeof(*k));
	if (!k)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	p->keys = k;
	long *ix = realloc(p->idx, (p->n + 1) * sizeof(*ix));
	if (!ix)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	p->idx = ix;
	p->keys[p->n] = key;
	p->idx[p->n] = idx;
	p->n++;
	return 0;
}

int fl_sops_path_parse(const char *s, struct fl_sops_path *out)
{
	memset(out, 0, sizeof(*out));
	const char *p = s;
	while (*p) {
		if (*p != '[')
			goto bad;
		p++;
		if (*p == '"' || *p == '\'') {
			char q = *p++;
			struct fl_buf key = FL_BUF_INIT;
			while (*p && *p != q) {
				if (*p == '\\' && p[1])
					p++;
				if (fl_buf_putc(&key, *p++) < 0)
					goto fail;
			}
			if (*p != q || p[1] != ']') {
				fl_buf_free(&key);
				goto bad;
			}
			p += 2;
			if (path_push(out, fl_buf_detach(&key), -1) < 0)
				goto fail;
		} else {
			char *end;
			errno = 0;
			long v = strtol(p, &end, 10);
			if (errno || end == p || *end != ']' || v < 0)
				goto bad;
			p = end + 1;
			if (path_push(out, NULL, v) < 0)
				goto fail;
		}
	}
	if (out->n == 0)
		goto bad;
	return 0;
bad:
	fl_sops_path_free(out);
	return fl_error_set(FL_E_INVALID,
	                    "bad path %s: expected keys and indices like [\"a\"][\"b\"][0]", s);
fail:
	fl_sops_path_free(out);
	return -1;
}

/* The i-th non-comment item of a list. */
static long list_slot(const struct fl_doc *list, long want)
{
	long seen = 0;
	for (size_t i = 0; i < list->n; i++) {
		if (list->items[i].value->type == FL_DOC_COMMENT)
			continue;
		if (seen++ == want)
			return (long)i;
	}
	return -1;
}

static struct fl_doc *step(struct fl_doc *d, const struct fl_sops_path *p, size_t i)
{
	if (p->keys[i])
		return d->type == FL_DOC_MAP ? fl_doc_get(d, p->keys[i]) : NULL;
	if (d->type != FL_DOC_LIST)
		return NULL;
	long slot = list_slot(d, p->idx[i]);
	return slot < 0 ? NULL : d->items[slot].value;
}

struct fl_doc *fl_sops_path_get(struct fl_sops_file *f, const struct fl_sops_path *p)
{
	struct fl_doc *d = f->docs.n ? f->docs.v[0] : NULL;
	for (size_t i = 0; d && i < p->n; i++)
		d = step(d, p, i);
	if (!d)
		fl_error_set(FL_E_NOTFOUND, "the path is not in the file");
	return d;
}

int fl_sops_path_set(struct fl_sops_file *f, const struct fl_sops_path *p, struct fl_doc *value)
{
	struct fl_doc *d = f->docs.n ? f->docs.v[0] : NULL;
	if (!d) {
		fl_doc_free(value);
		return fl_error_set(FL_E_INVALID, "the file has no document");
	}
	for (size_t i = 0; i < p->n; i++) {
		int last = i + 1 == p->n;
		if (p->keys[i]) {
			if (d->type != FL_DOC_MAP) {
				fl_doc_free(value);
				return fl_error_set(FL_E_INVALID, "\"%s\" is not under a mapping",
				                    p->keys[i]);
			}
			long at = fl_doc_index(d, p->keys[i]);
			if (last) {
				if (at >= 0) {
					fl_doc_free(d->items[at].value);
					d->items[at].value = value;
					return 0;
				}
				return fl_doc_append(d, p->keys[i], value);
			}
			if (at < 0) {
				struct fl_doc *m =
				    fl_doc_new(p->keys[i + 1] ? FL_DOC_MAP : FL_DOC_LIST);
				if (!m || fl_doc_append(d, p->keys[i], m) < 0) {
					fl_doc_free(value);
					return -1;
				}
				d = m;
			} else {
				d = d->items[at].value;
			}
		} else {
			if (d->type != FL_DOC_LIST) {
				fl_doc_free(value);
				return fl_error_set(FL_E_INVALID, "index %ld is not into a list",
				                    p->idx[i]);
			}
			long slot = list_slot(d, p->idx[i]);
			if (slot < 0 && list_slot(d, p->idx[i] - 1) < 0 && p->idx[i] != 0) {
				fl_doc_free(value);
				return fl_error_set(FL_E_NOTFOUND,
				                    "index %ld is past the end of the list",
				                    p->idx[i]);
			}
			if (slot < 0) {
				/* One past the end appends. */
				struct fl_doc *n =
				    last ? value
				         : fl_doc_new(p->keys[i + 1] ? FL_DOC_MAP : FL_DOC_LIST);
				if (!n || fl_doc_append(d, NULL, n) < 0) {
					if (!last)
						fl_doc_free(value);
					return -1;
				}
				if (last)
					return 0;
				d = n;
			} else if (last) {
				fl_doc_free(d->items[slot].value);
				d->items[slot].value = value;
				return 0;
			} else {
				d = d->items[slot].value;
			}
		}
	}
	fl_doc_free(value);
	return 0;
}

int fl_sops_path_unset(struct fl_sops_file *f, const struct fl_sops_path *p)
{
	struct fl_doc *d = f->docs.n ? f->docs.v[0] : NULL;
	for (size_t i = 0; d && i + 1 < p->n; i++)
		d = step(d, p, i);
	if (d) {
		size_t last = p->n - 1;
		long at = p->keys[last]
		              ? fl_doc_index(d, p->keys[last])
		              : (d->type == FL_DOC_LIST ? list_slot(d, p->idx[last]) : -1);
		if (at >= 0) {
			fl_doc_remove(d, (size_t)at);
			return 0;
		}
	}
	return fl_error_set(FL_E_NOTFOUND, "the path is not in the file");
}
