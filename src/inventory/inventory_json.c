/*
 * inventory.json written by `fleet machines create` (docs/contract.md, "inventory.json"):
 * a machine is added by editing the text, so the rest of a file a person wrote (its
 * indentation, key order, other keys, line endings) stays byte for byte as it was.
 */
#include "fleet/inventory.h"
#include "fleet/error.h"
#include "fleet/jsonread.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int fl_inventory_machine_name_valid(const char *name)
{
	/* docs/contract.md: machine names match ^[A-Za-z0-9][A-Za-z0-9_-]*$ */
	if (!((*name >= 'a' && *name <= 'z') || (*name >= 'A' && *name <= 'Z') ||
	      (*name >= '0' && *name <= '9')))
		return 0;
	for (const char *s = name + 1; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

static int put_string(struct fl_buf *b, const char *s)
{
	json_t *j = json_string(s);
	char *text = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
	json_decref(j);
	if (!text)
		return fl_error_set(FL_E_INVALID, "%s is not valid UTF-8", s);
	int rc = fl_buf_puts(b, text);
	free(text);
	return rc;
}

/* How the text lays members out: on lines of their own (nl set) or on one line. */
struct layout {
	const char *nl; /* "\n", "\r\n", or NULL for a one-line object */
	struct fl_buf unit;
};

static int put_break(struct fl_buf *b, const struct layout *l, const char *indent, size_t ilen,
                     int more)
{
	if (!l->nl)
		return fl_buf_puts(b, " ");
	if (fl_buf_puts(b, l->nl) < 0 || fl_buf_put(b, indent, ilen) < 0)
		return -1;
	return more ? fl_buf_put(b, l->unit.ptr, l->unit.len) : 0;
}

/* `"name": ` as the next field of an object whose fields sit one level below indent. */
static int put_field(struct fl_buf *b, const struct layout *l, const char *indent, size_t ilen,
                     int first, const char *name)
{
	if (!first && fl_buf_puts(b, ",") < 0)
		return -1;
	if (put_break(b, l, indent, ilen, 1) < 0)
		return -1;
	return fl_buf_printf(b, "\"%s\": ", name);
}

/* The machine object: only the fields that were given. */
static int put_machine(struct fl_buf *b, const struct fl_inventory_json_machine *m,
                       const struct layout *l, const char *indent, size_t ilen)
{
	int first = 1;
	if (fl_buf_puts(b, "{") < 0)
		return -1;
	if (m->machine_class) {
		if (put_field(b, l, indent, ilen, first, "machineClass") < 0 ||
		    put_string(b, m->machine_class) < 0)
			return -1;
		first = 0;
	}
	if (m->system) {
		if (put_field(b, l, indent, ilen, first, "system") < 0 ||
		    put_string(b, m->system) < 0)
			return -1;
		first = 0;
	}
	if (m->ntags) {
		if (put_field(b, l, indent, ilen, first, "tags") < 0 || fl_buf_puts(b, "[") < 0)
			return -1;
		for (size_t i = 0; i < m->ntags; i++)
			if ((i && fl_buf_puts(b, ", ") < 0) || put_string(b, m->tags[i]) < 0)
				return -1;
		if (fl_buf_puts(b, "]") < 0)
			return -1;
		first = 0;
	}
	if (m->target_host) {
		if (put_field(b, l, indent, ilen, first, "deploy") < 0 ||
		    fl_buf_puts(b, "{ \"targetHost\": ") < 0 || put_string(b, m->target_host) < 0 ||
		    fl_buf_puts(b, " }") < 0)
			return -1;
		first = 0;
	}
	if (!first && put_break(b, l, indent, ilen, 0) < 0)
		return -1;
	return fl_buf_puts(b, "}");
}

/* Where each member of obj starts (its key's opening quote) and the object's '{'. */
static const char *member_start(const struct fl_jv *obj, size_t i)
{
	const char *p = i ? obj->items[i - 1].raw + obj->items[i - 1].raw_len : obj->raw + 1;
	while (*p != '"')
		p++; /* whitespace and the ',' between members: the parser has checked them */
	return p;
}

/* The whitespace from the start of p's line up to p, if p starts its line. */
static int line_indent(const char *text, const char *p, const char **indent, size_t *len)
{
	const char *s = p;
	while (s > text && (s[-1] == ' ' || s[-1] == '\t'))
		s--;
	if (s > text && s[-1] != '\n')
		return 0;
	*indent = s;
	*len = (size_t)(p - s);
	return 1;
}

/* Inserts `"key": value` (value from put_value) into obj, after its last member. */
static int insert_member(const char *text, size_t len, const struct fl_jv *obj,
                         const char *obj_indent, size_t obj_ilen, struct layout *l, const char *key,
                         const struct fl_inventory_json_machine *m, struct fl_buf *out)
{
	const char *indent = NULL;
	size_t ilen = 0;
	int own_lines = obj->n && line_indent(text, member_start(obj, obj->n - 1), &indent, &ilen);
	struct fl_buf member_indent = FL_BUF_INIT, body = FL_BUF_INIT;
	int rc = 0;
	if (own_lines) {
		/* Indented as its siblings; one level deeper inside, by the file's own step. */
		if (ilen > obj_ilen && !memcmp(indent, obj_indent, obj_ilen)) {
			fl_buf_clear(&l->unit);
			rc = fl_buf_put(&l->unit, indent + obj_ilen, ilen - obj_ilen);
		}
		rc = rc ? rc : fl_buf_put(&member_indent, indent, ilen);
	} else if (obj->n) {
		l->nl = NULL;
	} else if (l->nl) {
		rc = fl_buf_put(&member_indent, obj_indent, obj_ilen);
		rc = rc ? rc : fl_buf_put(&member_indent, l->unit.ptr, l->unit.len);
	}
	const char *mi = member_indent.ptr ? member_indent.ptr : "";
	if (rc == 0)
		rc = put_string(&body, key);
	if (rc == 0)
		rc = fl_buf_puts(&body, ": ");
	if (rc == 0 && m)
		rc = put_machine(&body, m, l, mi, member_indent.len);
	else if (rc == 0)
		rc = fl_buf_puts(&body, "{}");
	const char *end = obj->raw + obj->raw_len - 1; /* the closing '}' */
	if (rc == 0 && obj->n) {
		/* after the last member's value: ",<break><member>" */
		const char *after = obj->items[obj->n - 1].raw + obj->items[obj->n - 1].raw_len;
		rc = fl_buf_put(out, text, (size_t)(after - text));
		rc = rc ? rc : fl_buf_puts(out, ",");
		if (rc == 0 && l->nl)
			rc = fl_buf_printf(out, "%s%s", l->nl, mi);
		else if (rc == 0)
			rc = fl_buf_puts(out, " ");
		rc = rc ? rc : fl_buf_put(out, body.ptr, body.len);
		rc = rc ? rc : fl_buf_put(out, after, len - (size_t)(after - text));
	} else if (rc == 0) {
		/* an empty object: the member goes right after its '{'; what was inside stays,
		 * and puts the '}' on its own line when it holds a line break */
		const char *inside = obj->raw + 1;
		rc = fl_buf_put(out, text, (size_t)(inside - text));
		if (rc == 0 && l->nl)
			rc = fl_buf_printf(out, "%s%s", l->nl, mi);
		rc = rc ? rc : fl_buf_put(out, body.ptr, body.len);
		if (rc == 0 && l->nl && !memchr(inside, '\n', (size_t)(end - inside))) {
			rc = fl_buf_puts(out, l->nl);
			rc = rc ? rc : fl_buf_put(out, obj_indent, obj_ilen);
		}
		rc = rc ? rc : fl_buf_put(out, inside, len - (size_t)(inside - text));
	}
	fl_buf_free(&member_indent);
	fl_buf_free(&body);
	return rc;
}

int fl_inventory_json_add_machine(const char *text, size_t len,
                                  const struct fl_inventory_json_machine *m, struct fl_buf *out)
{
	struct layout l = {"\n", FL_BUF_INIT};
	size_t blank = 0;
	while (blank < len && text[blank] && strchr(" \t\r\n", text[blank]))
		blank++;
	if (blank == len) {
		/* A new file: two spaces, as `nix eval` users read it. */
		int rc = fl_buf_puts(&l.unit, "  ");
		rc = rc ? rc : fl_buf_puts(out, "{\n  \"machines\": {\n    ");
		rc = rc ? rc : put_string(out, m->name);
		rc = rc ? rc : fl_buf_puts(out, ": ");
		rc = rc ? rc : put_machine(out, m, &l, "    ", 4);
		rc = rc ? rc : fl_buf_puts(out, "\n  }\n}\n");
		fl_buf_free(&l.unit);
		return rc;
	}
	struct fl_jdoc doc;
	if (fl_jdoc_parse(text, len, &doc) < 0)
		return -1;
	const struct fl_jv *root = doc.root, *machines = fl_jv_get(root, "machines");
	int rc = 0;
	if (root->type != FL_JV_OBJ || (machines && machines->type != FL_JV_OBJ))
		rc = fl_error_set(FL_E_INVALID, "expected {\"machines\": {…}}, an object whose "
		                                "\"machines\" is an object");
	else if (machines && fl_jv_get(machines, m->name))
		rc = fl_error_set(FL_E_EXISTS, "machine \"%s\" is already there", m->name);
	if (rc < 0) {
		fl_jdoc_free(&doc);
		return rc;
	}
	if (memchr(text, '\r', len))
		l.nl = "\r\n";
	rc = fl_buf_puts(&l.unit, "  ");
	/* The root's members set the step when "machines" has none to copy. */
	const char *ri = NULL;
	size_t rlen = 0;
	if (rc == 0 && root->n && line_indent(text, member_start(root, root->n - 1), &ri, &rlen) &&
	    rlen) {
		fl_buf_clear(&l.unit);
		rc = fl_buf_put(&l.unit, ri, rlen);
	}
	if (rc == 0 && machines) {
		const char *mi = NULL;
		size_t mlen = 0;
		size_t at = 0;
		while (root->items + at != machines)
			at++;
		if (!line_indent(text, member_start(root, at), &mi, &mlen)) {
			mi = "";
			mlen = 0;
			l.nl = NULL; /* a one-line file stays on one line */
		}
		rc = insert_member(text, len, machines, mi, mlen, &l, m->name, m, out);
	} else if (rc == 0) {
		/* No "machines" yet: add it, empty, then the machine into it. */
		struct fl_buf step = FL_BUF_INIT;
		rc = insert_member(text, len, root, "", 0, &l, "machines", NULL, &step);
		if (rc == 0)
			rc = fl_inventory_json_add_machine(step.ptr, step.len, m, out);
		fl_buf_free(&step);
	}
	fl_buf_free(&l.unit);
	fl_jdoc_free(&doc);
	return rc;
}
