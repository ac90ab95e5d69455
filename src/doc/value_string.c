#include "doc/value_string.h"
#include "fleet/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Go's strconv.FormatFloat(v, 'G', -1, 64): shortest digits, exponent form when the
 * decimal exponent is below -4 or at least 6, exponent written with two or more digits. */
static int format_float_g(double v, struct fl_buf *out)
{
	if (isnan(v))
		return fl_buf_puts(out, "NaN");
	if (isinf(v))
		return fl_buf_puts(out, v > 0 ? "+Inf" : "-Inf");
	char sci[40];
	int prec;
	for (prec = 0; prec < 17; prec++) {
		snprintf(sci, sizeof(sci), "%.*e", prec, v);
		if (strtod(sci, NULL) == v)
			break;
	}
	snprintf(sci, sizeof(sci), "%.*e", prec, v);
	const char *p = sci;
	int neg = *p == '-';
	if (neg)
		p++;
	char digits[24];
	size_t nd = 0;
	for (; *p && *p != 'e'; p++)
		if (*p != '.')
			digits[nd++] = *p;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';
	int exp = atoi(p + 1);
	if (v == 0)
		exp = 0;
	if (neg && fl_buf_putc(out, '-') < 0)
		return -1;
	if (exp < -4 || exp >= 6) {
		if (fl_buf_putc(out, digits[0]) < 0)
			return -1;
		if (nd > 1 && (fl_buf_putc(out, '.') < 0 || fl_buf_puts(out, digits + 1) < 0))
			return -1;
		return fl_buf_printf(out, "E%c%02d", exp < 0 ? '-' : '+', abs(exp));
	}
	if (exp < 0) {
		if (fl_buf_puts(out, "0.") < 0)
			return -1;
		for (int i = 0; i < -exp - 1; i++)
			if (fl_buf_putc(out, '0') < 0)
				return -1;
		return fl_buf_puts(out, digits);
	}
	for (int i = 0; i <= exp; i++)
		if (fl_buf_putc(out, (size_t)i < nd ? digits[i] : '0') < 0)
			return -1;
	if (nd > (size_t)exp + 1 &&
	    (fl_buf_putc(out, '.') < 0 || fl_buf_puts(out, digits + exp + 1) < 0))
		return -1;
	return 0;
}

int fl_doc_value_string(const struct fl_doc *v, const char *where, struct fl_buf *out)
{
	switch (v->type) {
	case FL_DOC_STR:
	case FL_DOC_INT:
	case FL_DOC_BOOL:
		return fl_buf_put(out, v->text, v->len);
	case FL_DOC_TIME:
		/* sops formats times with time.RFC3339, which has no fractional seconds. */
		if (v->len > 20 && v->text[19] == '.') {
			size_t end = 20;
			while (end < v->len && v->text[end] >= '0' && v->text[end] <= '9')
				end++;
			if (fl_buf_put(out, v->text, 19) < 0)
				return -1;
			return fl_buf_put(out, v->text + end, v->len - end);
		}
		return fl_buf_put(out, v->text, v->len);
	case FL_DOC_FLOAT: {
		/* sops: 'G' form, with ".0" added when it would read back as an integer. */
		size_t start = out->len;
		double d = strtod(v->text ? v->text : "0", NULL);
		if (format_float_g(d, out) < 0)
			return -1;
		if (!memchr(out->ptr + start, '.', out->len - start) &&
		    !memchr(out->ptr + start, 'E', out->len - start) && isfinite(d))
			return fl_buf_puts(out, ".0");
		return 0;
	}
	case FL_DOC_NULL:
		return fl_error_set(
		    FL_E_INVALID,
		    "key %s is null, which a string-only format cannot hold; give it "
		    "a value or remove it",
		    where);
	case FL_DOC_BYTES:
		return fl_error_set(FL_E_INVALID,
		                    "key %s holds binary data, which a string-only format cannot "
		                    "hold; store it base64-encoded",
		                    where);
	default:
		return fl_error_set(FL_E_INVALID, "key %s is not a scalar", where);
	}
}
