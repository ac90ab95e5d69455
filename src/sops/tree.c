/* Walking a sops tree (sops.go's walkBranch/walkSlice): every leaf gets its key path
 * as additional data, the encryption rules decide which leaves are encrypted, and the
 * plaintext of the leaves feeds the SHA-512 MAC in document order. */
#include "fleet/error.h"
#include "fleet/sops.h"
#include "sops/internal.h"
#include "sops/regex.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* sops: the MAC over encrypted values only starts from SHA-256("sops"). */
static const uint8_t mac_only_encrypted_init[32] = {
    0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b,
    0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69};

/* The comments before the current value at one nesting level: copies of their text as it
 * was when walked (sops pushes the comment before transforming it), since encrypting or
 * decrypting the comment frees the text the tree held. */
struct comment_level {
	char **v;
	size_t n, cap;
};

static void clear_level(struct comment_level *l)
{
	for (size_t i = 0; i < l->n; i++)
		fl_free_secret_str(l->v[i]);
	l->n = 0;
}

struct walk {
	struct fl_sops_file *f;
	const uint8_t *key;
	int encrypt;
	struct fl_sops_stash *stash_out;
	const struct fl_sops_stash *stash_in;
	crypto_hash_sha512_state mac;
	const char **path;
	size_t depth, path_cap;
	struct comment_level *levels;
	size_t nlevels, levels_cap;
	struct sops_regex *re_unenc, *re_enc, *re_unenc_comment, *re_enc_comment;
};

static int walk_init(struct walk *w)
{
	const struct fl_sops_rules *r = &w->f->md.rules;
	if ((r->unencrypted_regex &&
	     sops_regex_compile(&w->re_unenc, r->unencrypted_regex, "unencrypted_regex") < 0) ||
	    (r->encrypted_regex &&
	     sops_regex_compile(&w->re_enc, r->encrypted_regex, "encrypted_regex") < 0) ||
	    (r->unencrypted_comment_regex &&
	     sops_regex_compile(&w->re_unenc_comment, r->unencrypted_comment_regex,
	                        "unencrypted_comment_regex") < 0) ||
	    (r->encrypted_comment_regex &&
	     sops_regex_compile(&w->re_enc_comment, r->encrypted_comment_regex,
	                        "encrypted_comment_regex") < 0))
		return -1;
	crypto_hash_sha512_init(&w->mac);
	if (r->mac_only_encrypted)
		crypto_hash_sha512_update(&w->mac, mac_only_encrypted_init,
		                          sizeof(mac_only_encrypted_init));
	return 0;
}

static void walk_free(struct walk *w)
{
	sops_regex_free(w->re_unenc);
	sops_regex_free(w->re_enc);
	sops_regex_free(w->re_unenc_comment);
	sops_regex_free(w->re_enc_comment);
	for (size_t i = 0; i < w->levels_cap; i++) {
		clear_level(&w->levels[i]);
		free(w->levels[i].v);
	}
	free(w->levels);
	free(w->path);
}

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Whether re matches one of v[0..n): 1, 0, or -1 with the error set. */
static int any_match(const struct sops_regex *re, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int m = sops_regex_match(re, v[i]);
		if (m != 0)
			return m;
	}
	return 0;
}

/* sops.go shouldBeEncrypted: the rules apply to every key on the path. 1 to encrypt, 0 not,
 * -1 on an error. */
static int should_encrypt(const struct walk *w, int is_comment)
{
	const struct fl_sops_rules *r = &w->f->md.rules;
	int enc = 1, m;
	if (r->unencrypted_suffix && *r->unencrypted_suffix)
		for (size_t i = 0; i < w->depth; i++)
			if (has_suffix(w->path[i], r->unencrypted_suffix))
				enc = 0;
	if (r->encrypted_suffix && *r->encrypted_suffix) {
		enc = 0;
		for (size_t i = 0; i < w->depth; i++)
			if (has_suffix(w->path[i], r->encrypted_suffix))
				enc = 1;
	}
	if (w->re_unenc) {
		if ((m = any_match(w->re_unenc, w->path, w->depth)) < 0)
			return -1;
		if (m)
			enc = 0;
	}
	if (w->re_enc && (enc = any_match(w->re_enc, w->path, w->depth)) < 0)
		return -1;
	for (size_t l = 0; w->re_unenc_comment && l < w->nlevels; l++) {
		const struct comment_level *lv = &w->levels[l];
		if ((m = any_match(w->re_unenc_comment, (const char *const *)lv->v, lv->n)) < 0)
			return -1;
		if (m)
			enc = 0;
	}
	if (w->re_enc_comment) {
		enc = 0;
		for (size_t l = 0; l < w->nlevels; l++) {
			const struct comment_level *lv = &w->levels[l];
			size_t n = lv->n;
			/* sops: the matching comment line itself stays readable. */
			if (is_comment && l + 1 == w->nlevels && n > 0)
				n--;
			if ((m = any_match(w->re_enc_comment, (const char *const *)lv->v, n)) < 0)
				return -1;
			if (m)
				enc = 1;
		}
	}
	return enc;
}

static int additional_data(const struct walk *w, struct fl_buf *ad)
{
	/* sops: strings.Join(path, ":") + ":". */
	for (size_t i = 0; i < w->depth; i++)
		if (fl_buf_puts(ad, w->path[i]) < 0 ||
		    (i + 1 < w->depth && fl_buf_putc(ad, ':') < 0))
			return -1;
	return fl_buf_putc(ad, ':');
}

static int hash_leaf(struct walk *w, const struct fl_doc *v)
{
	const char *type, *bytes;
	size_t len;
	if (sops_value_bytes(v, &type, &bytes, &len) < 0)
		return -1;
	crypto_hash_sha512_update(&w->mac, (const uint8_t *)bytes, len);
	return 0;
}

static void replace_node(struct fl_doc *dst, struct fl_doc *src)
{
	/* Move src's scalar into dst, keeping dst's place in the tree. */
	if (dst->text) {
		fl_memzero(dst->text, dst->len);
		free(dst->text);
	}
	dst->type = src->type;
	dst->text = src->text;
	dst->len = src->len;
	src->text = NULL;
	src->len = 0;
	fl_doc_free(src);
}

static int leaf(struct walk *w, struct fl_doc *v)
{
	int is_comment = v->type == FL_DOC_COMMENT;
	int enc = should_encrypt(w, is_comment);
	if (enc < 0)
		return -1;
	int hashed = !w->f->md.rules.mac_only_encrypted || enc;
	struct fl_buf ad = FL_BUF_INIT;
	int rc = -1;
	if (additional_data(w, &ad) < 0)
		goto out;
	if (w->encrypt) {
		if (hashed && !is_comment && hash_leaf(w, v) < 0)
			goto out;
		if (enc) {
			const char *type, *bytes;
			size_t len;
			const struct fl_sops_iv *iv = NULL;
			if (sops_value_bytes(v, &type, &bytes, &len) < 0)
				goto out;
			if (w->stash_in)
				iv = sops_stash_get(w->stash_in, ad.ptr, type, bytes, len);
			struct fl_buf ct = FL_BUF_INIT;
			if (fl_sops_value_encrypt(v, w->key, ad.ptr, iv, &ct) < 0)
				goto out;
			struct fl_doc *nv = fl_doc_new_scalar(
			    is_comment ? FL_DOC_COMMENT : FL_DOC_STR, ct.ptr ? ct.ptr : "", ct.len);
			fl_buf_free(&ct);
			if (!nv)
				goto out;
			replace_node(v, nv);
			if (!is_comment)
				v->style = FL_DOC_STYLE_ANY;
		}
	} else {
		if (enc) {
			if (v->type != FL_DOC_STR && !is_comment) {
				fl_error_set(
				    FL_E_INVALID,
				    "the value at %s should be encrypted but is a plain %s", ad.ptr,
				    v->type == FL_DOC_INT     ? "number"
				    : v->type == FL_DOC_FLOAT ? "number"
				    : v->type == FL_DOC_BOOL  ? "boolean"
				                              : "value");
				goto out;
			}
			/* sops: empty values were never encrypted. */
			if (v->len > 0) {
				struct fl_doc *nv = NULL;
				struct fl_sops_iv iv;
				if (fl_sops_value_decrypt(v->text, v->len, w->key, ad.ptr, &nv,
				                          &iv) < 0) {
					/* sops: a comment that does not decrypt was never
					 * encrypted. */
					if (!is_comment) {
						fl_error_prefix("%s: ", ad.ptr);
						goto out;
					}
					fl_error_clear();
				} else {
					if (is_comment && nv->type != FL_DOC_COMMENT) {
						fl_doc_free(nv);
						fl_error_set(FL_E_INVALID,
						             "%s: a comment decrypted to a value",
						             ad.ptr);
						goto out;
					}
					const char *type, *bytes;
					size_t len;
					if (w->stash_out &&
					    sops_value_bytes(nv, &type, &bytes, &len) == 0 &&
					    sops_stash_put(w->stash_out, ad.ptr, type, bytes, len,
					                   &iv) < 0) {
						fl_doc_free(nv);
						goto out;
					}
					replace_node(v, nv);
				}
			}
		}
		if (hashed && !is_comment && hash_leaf(w, v) < 0)
			goto out;
	}
	rc = 0;
out:
	fl_buf_free(&ad);
	return rc;
}

static int push_level(struct walk *w)
{
	if (w->nlevels == w->levels_cap) {
		size_t cap = w->levels_cap ? w->levels_cap * 2 : 8;
		struct comment_level *v = realloc(w->levels, cap * sizeof(*v));
		if (!v)
			return fl_error_set(FL_E_NOMEM, "out of memory");
		memset(v + w->levels_cap, 0, (cap - w->levels_cap) * sizeof(*v));
		w->levels = v;
		w->levels_cap = cap;
	}
	clear_level(&w->levels[w->nlevels++]);
	return 0;
}

static int add_comment(struct walk *w, const char *text)
{
	struct comment_level *l = &w->levels[w->nlevels - 1];
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		char **v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return fl_error_set(FL_E_NOMEM, "out of memory");
		l->v = v;
		l->cap = cap;
	}
	if (!(l->v[l->n] = strdup(text ? text : "")))
		return fl_error_set(FL_E_NOMEM, "out of memory");
	l->n++;
	return 0;
}

static int walk_value(struct walk *w, struct fl_doc *v);

static int walk_collection(struct walk *w, struct fl_doc *d)
{
	if (push_level(w) < 0)
		return -1;
	for (size_t i = 0; i < d->n; i++) {
		struct fl_doc_entry *e = &d->items[i];
		if (e->value->type == FL_DOC_COMMENT) {
			/* Comments guide the comment rules for what follows them. */
			if (add_comment(w, e->value->text) < 0 || leaf(w, e->value) < 0)
				return -1;
			continue;
		}
		if (d->type == FL_DOC_MAP) {
			if (w->depth == w->path_cap) {
				size_t cap = w->path_cap ? w->path_cap * 2 : 16;
				const char **p = realloc(w->path, cap * sizeof(*p));
				if (!p)
					return fl_error_set(FL_E_NOMEM, "out of memory");
				w->path = p;
				w->path_cap = cap;
			}
			w->path[w->depth++] = e->key;
		}
		int rc = walk_value(w, e->value);
		if (d->type == FL_DOC_MAP)
			w->depth--;
		if (rc < 0)
			return -1;
		clear_level(&w->levels[w->nlevels - 1]);
	}
	clear_level(&w->levels[--w->nlevels]);
	return 0;
}

static int walk_value(struct walk *w, struct fl_doc *v)
{
	switch (v->type) {
	case FL_DOC_MAP:
	case FL_DOC_LIST:
		return walk_collection(w, v);
	case FL_DOC_NULL:
		/* sops: nil values are neither encrypted nor part of the MAC. */
		return 0;
	default:
		return leaf(w, v);
	}
}

static int walk_all(struct walk *w)
{
	for (size_t i = 0; i < w->f->docs.n; i++)
		if (walk_value(w, w->f->docs.v[i]) < 0)
			return -1;
	return 0;
}

static void mac_hex(struct walk *w, char hex[129])
{
	uint8_t h[64];
	static const char digits[] = "0123456789ABCDEF";
	crypto_hash_sha512_final(&w->mac, h);
	/* sops: fmt.Sprintf("%X", sum) — uppercase hex. */
	for (int i = 0; i < 64; i++) {
		hex[2 * i] = digits[h[i] >> 4];
		hex[2 * i + 1] = digits[h[i] & 15];
	}
	hex[128] = '\0';
}

int fl_sops_decrypt(struct fl_sops_file *f, const uint8_t key[FL_SOPS_KEY_LEN], int ignore_mac,
                    struct fl_sops_stash *stash)
{
	struct walk w = {.f = f, .key = key, .stash_out = stash};
	int rc = -1;
	if (f->decrypted)
		return fl_error_set(FL_E_INVALID, "the file is already decrypted");
	if (walk_init(&w) < 0 || walk_all(&w) < 0)
		goto out;
	char computed[129];
	mac_hex(&w, computed);
	f->decrypted = 1;
	if (ignore_mac) {
		rc = 0;
		goto out;
	}
	if (!f->md.mac || !*f->md.mac) {
		fl_error_set(FL_E_INTEGRITY,
		             "the file has no MAC (use --ignore-mac to decrypt anyway)");
		goto out;
	}
	struct fl_doc *stored = NULL;
	/* sops: the MAC is encrypted with lastmodified as additional data. */
	if (fl_sops_value_decrypt(f->md.mac, strlen(f->md.mac), key,
	                          f->md.lastmodified ? f->md.lastmodified : "", &stored,
	                          NULL) < 0) {
		fl_error_set(FL_E_INTEGRITY,
		             "MAC mismatch: the MAC or lastmodified was modified (use --ignore-mac "
		             "to decrypt anyway)");
		goto out;
	}
	int same = stored->len == 128 && sodium_memcmp(stored->text, computed, 128) == 0;
	fl_doc_free(stored);
	if (!same) {
		fl_error_set(FL_E_INTEGRITY,
		             "MAC mismatch: the file's values were modified after it was encrypted "
		             "(use --ignore-mac to decrypt anyway)");
		goto out;
	}
	rc = 0;
out:
	walk_free(&w);
	return rc;
}

int fl_sops_encrypt(struct fl_sops_file *f, const uint8_t key[FL_SOPS_KEY_LEN],
                    const struct fl_sops_stash *stash)
{
	struct walk w = {.f = f, .key = key, .encrypt = 1, .stash_in = stash};
	int rc = -1;
	if (!f->decrypted)
		return fl_error_set(FL_E_INVALID, "the file is already encrypted");
	if (walk_init(&w) < 0 || walk_all(&w) < 0)
		goto out;
	char computed[129], now[32];
	mac_hex(&w, computed);
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	free(f->md.lastmodified);
	f->md.lastmodified = strdup(now);
	struct fl_doc *macv = fl_doc_new_scalar(FL_DOC_STR, computed, 128);
	struct fl_buf enc = FL_BUF_INIT;
	if (!macv || !f->md.lastmodified ||
	    fl_sops_value_encrypt(macv, key, f->md.lastmodified, NULL, &enc) < 0) {
		fl_doc_free(macv);
		fl_buf_free(&enc);
		goto out;
	}
	fl_doc_free(macv);
	free(f->md.mac);
	f->md.mac = fl_buf_detach(&enc);
	if (!f->md.version)
		f->md.version = strdup(FL_SOPS_VERSION);
	f->decrypted = 0;
	rc = 0;
out:
	walk_free(&w);
	return rc;
}

/* --- the IV stash: SHA-256(additional data, type, plaintext) -> IV --- */

struct stash_slot {
	uint8_t id[32];
	struct fl_sops_iv iv;
	int used;
};

struct fl_sops_stash {
	struct stash_slot *slots;
	size_t cap, n;
};

struct fl_sops_stash *fl_sops_stash_new(void)
{
	struct fl_sops_stash *s = calloc(1, sizeof(*s));
	if (!s)
		fl_error_set(FL_E_NOMEM, "out of memory");
	return s;
}

void fl_sops_stash_free(struct fl_sops_stash *s)
{
	if (!s)
		return;
	if (s->slots)
		sodium_memzero(s->slots, s->cap * sizeof(*s->slots));
	free(s->slots);
	free(s);
}

static void stash_id(uint8_t id[32], const char *ad, const char *type, const char *bytes,
                     size_t len)
{
	crypto_hash_sha256_state h;
	crypto_hash_sha256_init(&h);
	crypto_hash_sha256_update(&h, (const uint8_t *)ad, strlen(ad) + 1);
	crypto_hash_sha256_update(&h, (const uint8_t *)type, strlen(type) + 1);
	crypto_hash_sha256_update(&h, (const uint8_t *)bytes, len);
	crypto_hash_sha256_final(&h, id);
}

static struct stash_slot *stash_find(const struct fl_sops_stash *s, const uint8_t id[32])
{
	if (!s->cap)
		return NULL;
	size_t i;
	memcpy(&i, id, sizeof(i));
	for (i %= s->cap;; i = (i + 1) % s->cap) {
		struct stash_slot *slot = &s->slots[i];
		if (!slot->used || memcmp(slot->id, id, 32) == 0)
			return slot;
	}
}

int sops_stash_put(struct fl_sops_stash *s, const char *ad, const char *type, const char *bytes,
                   size_t len, const struct fl_sops_iv *iv)
{
	if ((s->n + 1) * 2 > s->cap) {
		struct fl_sops_stash bigger = {0};
		bigger.cap = s->cap ? s->cap * 2 : 64;
		bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
		if (!bigger.slots)
			return fl_error_set(FL_E_NOMEM, "out of memory");
		for (size_t i = 0; i < s->cap; i++)
			if (s->slots[i].used)
				*stash_find(&bigger, s->slots[i].id) = s->slots[i];
		bigger.n = s->n;
		sodium_memzero(s->slots, s->cap * sizeof(*s->slots));
		free(s->slots);
		*s = bigger;
	}
	uint8_t id[32];
	stash_id(id, ad, type, bytes, len);
	struct stash_slot *slot = stash_find(s, id);
	if (!slot->used)
		s->n++;
	slot->used = 1;
	memcpy(slot->id, id, 32);
	slot->iv = *iv;
	return 0;
}

const struct fl_sops_iv *sops_stash_get(const struct fl_sops_stash *s, const char *ad,
                                        const char *type, const char *bytes, size_t len)
{
	uint8_t id[32];
	stash_id(id, ad, type, bytes, len);
	struct stash_slot *slot = stash_find(s, id);
	return slot && slot->used ? &slot->iv : NULL;
}
