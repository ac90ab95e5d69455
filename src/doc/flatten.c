/*
 * sops' flattening of nested metadata for the flat stores (sops stores/flatten.go):
 * dotenv keeps it as top-level "sops_..." keys, INI as the keys of a [sops] section.
 */
#include "doc/keyset.h"
#include "fleet/doc.h"
#include "fleet/error.h"

#include <stdlib.h>
#include <string.h>

#define MAP_SEP "__map_"
#define LIST_SEP "__list_"
#define MAP_SEP_LEN (sizeof(MAP_SEP) - 1)
#define LIST_SEP_LEN (sizeof(LIST_SEP) - 1)

/* sops metadata nests four levels (key_groups/age/enc); anything far deeper is hostile. */
#define MAX_DEPTH 64
/* No sops metadata list comes near this; larger indices are refused before any work. */
#define MAX_LIST_INDEX 100000

/* --- flatten --- */

static int flat_has_key(const struct fl_doc *flat, size_t from, const char *key)
{
	for (size_t i = from; i < flat->n; i++)
		if (flat->items[i].key && strcmp(flat->items[i].key, key) == 0)
			return 1;
	return 0;
}

static int flatten_value(const struct fl_doc *v, struct fl_buf *key, struct fl_doc *flat,
                         size_t from, int depth);

static int flatten_map(const struct fl_doc *map, struct fl_buf *key, struct fl_doc *flat,
                       size_t from, int depth)
{
	size_t base = key->len;
	for (size_t i = 0; i < map->n; i++) {
		/* sops: comments carry no metadata and are skipped. */
		if (!map->items[i].key || map->items[i].value->type == FL_DOC_COMMENT)
			continue;
		fl_buf_truncate(key, base);
		if (fl_buf_puts(key, map->items[i].key) < 0 ||
		    flatten_value(map->items[i].value, key, flat, from, depth + 1) < 0)
			return -1;
	}
	fl_buf_truncate(key, base);
	return 0;
}

static int flatten_list(const struct fl_doc *list, struct fl_buf *key, struct fl_doc *flat,
                        size_t from, int depth)
{
	size_t base = key->len;
	size_t index = 0;
	for (size_t i = 0; i < list->n; i++) {
		/* sops: comments in a list are skipped and take no index. */
		if (list->items[i].value->type == FL_DOC_COMMENT)
			continue;
		fl_buf_truncate(key, base);
		if (fl_buf_printf(key, "%zu", index++) < 0 ||
		    flatten_value(list->items[i].value, key, flat, from, depth + 1) < 0)
			return -1;
	}
	fl_buf_truncate(key, base);
	return 0;
}

static int flatten_value(const struct fl_doc *v, struct fl_buf *key, struct fl_doc *flat,
                         size_t from, int depth)
{
	if (depth > MAX_DEPTH)
		return fl_error_set(FL_E_INVALID,
		                    "flattening %s: nested deeper than %d levels; sops metadata "
		                    "never is",
		                    key->ptr, MAX_DEPTH);
	if (v->type == FL_DOC_MAP)
		return fl_buf_puts(key, MAP_SEP) < 0 ? -1 : flatten_map(v, key, flat, from, depth);
	if (v->type == FL_DOC_LIST)
		return fl_buf_puts(key, LIST_SEP) < 0 ? -1
		                                      : flatten_list(v, key, flat, from, depth);
	/* sops: two paths that flatten to the same key are a collision, not an overwrite. */
	if (flat_has_key(flat, from, key->ptr))
		return fl_error_set(FL_E_INVALID,
		                    "flattening metadata: key %s is produced twice; rename the "
		                    "nested key that contains \"" MAP_SEP "\" or \"" LIST_SEP "\"",
		                    key->ptr);
	/* sops keeps the scalar's type; the store decides how to write it. */
	struct fl_doc *copy = fl_doc_clone(v);
	if (!copy)
		return -1;
	return fl_doc_append(flat, key->ptr, copy);
}

int fl_doc_flatten(const struct fl_doc *map, const char *prefix, struct fl_doc *flat_out)
{
	if (!map || map->type != FL_DOC_MAP || !flat_out || flat_out->type != FL_DOC_MAP)
		return fl_error_set(FL_E_INVALID, "flattening metadata: expected a map");
	struct fl_buf key = FL_BUF_INIT;
	size_t from = flat_out->n;
	int rc = fl_buf_puts(&key, prefix ? prefix : "");
	if (rc == 0)
		rc = flatten_map(map, &key, flat_out, from, 0);
	fl_buf_free(&key);
	/* A failed flatten leaves flat_out as it was. */
	while (rc < 0 && flat_out->n > from)
		fl_doc_remove(flat_out, flat_out->n - 1);
	return rc;
}

/* --- unflatten --- */

/* One node of the tree being rebuilt (sops' `node`): a leaf holds a borrowed value, an
 * inner node has either named or indexed children, never both. */
struct node {
	const struct fl_doc *value;
	struct node_child *kids;
	size_t n, cap;
	struct doc_keyset names; /* key (map) or decimal index (list) -> position in kids */
	int kind;                /* 0 unset, 'm' map children, 'l' list children */
};

struct node_child {
	char *key;    /* map children */
	size_t index; /* list children */
	struct node *node;
};

static void node_free(struct node *nd)
{
	if (!nd)
		return;
	for (size_t i = 0; i < nd->n; i++) {
		free(nd->kids[i].key);
		node_free(nd->kids[i].node);
	}
	free(nd->kids);
	doc_keyset_free(&nd->names);
	free(nd);
}

/* The child of nd named key (kind 'm') or numbered index (kind 'l', key its canonical
 * decimal text), created if absent. */
static struct node *node_child(struct node *nd, int kind, const char *key, size_t key_len,
                               size_t index)
{
	size_t at;
	int seen = doc_keyset_add(&nd->names, key, key_len, nd->n, &at);
	if (seen < 0)
		return NULL;
	if (seen > 0)
		return nd->kids[at].node;
	if (nd->n == nd->cap) {
		size_t cap = nd->cap ? nd->cap * 2 : 4;
		struct node_child *v = realloc(nd->kids, cap * sizeof(*v));
		if (!v) {
			fl_error_set(FL_E_NOMEM, "out of memory");
			return NULL;
		}
		nd->kids = v;
		nd->cap = cap;
	}
	struct node_child *c = &nd->kids[nd->n];
	memset(c, 0, sizeof(*c));
	c->index = index;
	if (kind == 'm' && !(c->key = strndup(key, key_len))) {
		fl_error_set(FL_E_NOMEM, "out of memory");
		return NULL;
	}
	if (!(c->node = calloc(1, sizeof(*c->node)))) {
		free(c->key);
		fl_error_set(FL_E_NOMEM, "out of memory");
		return NULL;
	}
	nd->n++;
	return c->node;
}

/* Where the next separator starts in path[from..len), or len. */
static size_t next_separator(const char *path, size_t from, size_t len)
{
	for (size_t i = from; i < len; i++) {
		if (len - i >= MAP_SEP_LEN && memcmp(path + i, MAP_SEP, MAP_SEP_LEN) == 0)
			return i;
		if (len - i >= LIST_SEP_LEN && memcmp(path + i, LIST_SEP, LIST_SEP_LEN) == 0)
			return i;
	}
	return len;
}

/* sops' tokenize + place: the path (key without prefix) is a map key up to the first
 * separator, then "__map_<key>" and "__list_<index>" tokens. */
static int place(struct node *root, const char *full_key, const char *path,
                 const struct fl_doc *value)
{
	size_t len = strlen(path);
	size_t end = next_separator(path, 0, len);
	struct node *nd = root;
	int kind = 'm';
	const char *tok = path;
	size_t tok_len = end;
	int depth = 0;
	for (;;) {
		size_t index = 0;
		if (kind == 'm' && tok_len == 0)
			return fl_error_set(FL_E_INVALID,
			                    "metadata key %s has an empty name between separators",
			                    full_key);
		if (kind == 'l') {
			/* Strict decimal: sops writes indices with %d, so "01", "+1" and ""
			 * are not its output (sops' Atoi would silently read "x" as 0). */
			if (tok_len == 0 || (tok[0] == '0' && tok_len > 1))
				goto bad_index;
			for (size_t i = 0; i < tok_len; i++) {
				if (tok[i] < '0' || tok[i] > '9')
					goto bad_index;
				index = index * 10 + (size_t)(tok[i] - '0');
				if (index > MAX_LIST_INDEX)
					return fl_error_set(FL_E_INVALID,
					                    "metadata key %s: list index above %d",
					                    full_key, MAX_LIST_INDEX);
			}
		}
		if (++depth > MAX_DEPTH)
			return fl_error_set(FL_E_INVALID,
			                    "metadata key %s nests deeper than %d levels", full_key,
			                    MAX_DEPTH);
		/* sops: a node is a value, a map or a list, never two of them. */
		if (nd->value || (nd->kind && nd->kind != kind))
			return fl_error_set(FL_E_INVALID,
			                    "metadata key %s: a prefix of it is already used as a "
			                    "different type (value, map or list)",
			                    full_key);
		nd->kind = kind;
		if (!(nd = node_child(nd, kind, tok, tok_len, index)))
			return -1;
		if (end == len)
			break;
		size_t sep_len;
		if (memcmp(path + end, MAP_SEP, MAP_SEP_LEN) == 0) {
			kind = 'm';
			sep_len = MAP_SEP_LEN;
		} else {
			kind = 'l';
			sep_len = LIST_SEP_LEN;
		}
		size_t start = end + sep_len;
		end = next_separator(path, start, len);
		tok = path + start;
		tok_len = end - start;
	}
	if (nd->value)
		return fl_error_set(FL_E_INVALID, "metadata key %s appears twice", full_key);
	if (nd->kind)
		return fl_error_set(FL_E_INVALID,
		                    "metadata key %s is both a value and a map or list", full_key);
	nd->value = value;
	return 0;
bad_index:
	return fl_error_set(FL_E_INVALID,
	                    "metadata key %s: list index \"%.*s\" is not a plain decimal number",
	                    full_key, (int)tok_len, tok);
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(((const struct node_child *)a)->key, ((const struct node_child *)b)->key);
}

static int cmp_index(const void *a, const void *b)
{
	size_t x = ((const struct node_child *)a)->index;
	size_t y = ((const struct node_child *)b)->index;
	return (x > y) - (x < y);
}

/* sops' convert: maps come out sorted by key; lists must be indexed 0..n-1. */
static struct fl_doc *convert(struct node *nd)
{
	if (nd->value)
		return fl_doc_clone(nd->value);
	struct fl_doc *out = fl_doc_new(nd->kind == 'l' ? FL_DOC_LIST : FL_DOC_MAP);
	if (!out || nd->n == 0)
		return out;
	qsort(nd->kids, nd->n, sizeof(nd->kids[0]), nd->kind == 'l' ? cmp_index : cmp_key);
	for (size_t i = 0; i < nd->n; i++) {
		if (nd->kind == 'l' && nd->kids[i].index != i) {
			fl_error_set(FL_E_INVALID,
			             "metadata list has no item %zu (sops: incomplete list)", i);
			goto fail;
		}
		struct fl_doc *v = convert(nd->kids[i].node);
		if (!v || fl_doc_append(out, nd->kind == 'l' ? NULL : nd->kids[i].key, v) < 0)
			goto fail;
	}
	return out;
fail:
	fl_doc_free(out);
	return NULL;
}

int fl_doc_unflatten(const struct fl_doc *flat, const char *prefix, struct fl_doc *nested_out)
{
	if (!flat || flat->type != FL_DOC_MAP || !nested_out || nested_out->type != FL_DOC_MAP)
		return fl_error_set(FL_E_INVALID, "unflattening metadata: expected a map");
	if (!prefix)
		prefix = "";
	size_t plen = strlen(prefix);
	struct node *root = calloc(1, sizeof(*root));
	struct fl_doc *tree = NULL;
	int rc = -1;
	if (!root) {
		fl_error_set(FL_E_NOMEM, "out of memory");
		goto out;
	}
	root->kind = 'm';
	for (size_t i = 0; i < flat->n; i++) {
		const char *key = flat->items[i].key;
		if (!key || flat->items[i].value->type == FL_DOC_COMMENT)
			continue;
		if (strncmp(key, prefix, plen) != 0)
			continue;
		if (place(root, key, key + plen, flat->items[i].value) < 0)
			goto out;
	}
	if (!(tree = convert(root)))
		goto out;
	/* Move the rebuilt entries over only once all of them were built; a failure leaves
	 * nested_out as it was. */
	size_t from = nested_out->n;
	for (size_t i = 0; i < tree->n; i++) {
		struct fl_doc *v = tree->items[i].value;
		tree->items[i].value = NULL;
		if (fl_doc_append(nested_out, tree->items[i].key, v) < 0) {
			while (nested_out->n > from)
				fl_doc_remove(nested_out, nested_out->n - 1);
			goto out;
		}
	}
	rc = 0;
out:
	node_free(root);
	fl_doc_free(tree);
	return rc;
}
