#include "fleet/error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static _Thread_local struct fl_error last_error;

int fl_error_vset(enum fl_error_class klass, const char *fmt, va_list ap)
{
	last_error.klass = klass;
	vsnprintf(last_error.message, sizeof(last_error.message), fmt, ap);
	return -1;
}

int fl_error_set(enum fl_error_class klass, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fl_error_vset(klass, fmt, ap);
	va_end(ap);
	return -1;
}

int fl_error_set_os(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	fl_error_vset(saved == ENOMEM ? FL_E_NOMEM : FL_E_OS, fmt, ap);
	va_end(ap);
	size_t len = strlen(last_error.message);
	snprintf(last_error.message + len, sizeof(last_error.message) - len, ": %s",
	         strerror(saved));
	errno = saved;
	return -1;
}

int fl_error_prefix(const char *fmt, ...)
{
	char old[sizeof(last_error.message)];
	va_list ap;
	memcpy(old, last_error.message, sizeof(old));
	va_start(ap, fmt);
	int n = vsnprintf(last_error.message, sizeof(last_error.message), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(last_error.message))
		memccpy(last_error.message + n, old, '\0', sizeof(last_error.message) - (size_t)n);
	last_error.message[sizeof(last_error.message) - 1] = '\0';
	return -1;
}

const struct fl_error *fl_error_last(void)
{
	return &last_error;
}

void fl_error_clear(void)
{
	last_error.klass = FL_E_NONE;
	last_error.message[0] = '\0';
}

const char *fl_error_class_name(enum fl_error_class klass)
{
	switch (klass) {
	case FL_E_NONE:
		return "none";
	case FL_E_OS:
		return "os";
	case FL_E_NOMEM:
		return "out of memory";
	case FL_E_INVALID:
		return "invalid input";
	case FL_E_UNSUPPORTED:
		return "unsupported";
	case FL_E_CRYPTO:
		return "crypto";
	case FL_E_AGE_HEADER:
		return "header failure";
	case FL_E_AGE_ARMOR:
		return "armor failure";
	case FL_E_AGE_PAYLOAD:
		return "payload failure";
	case FL_E_AGE_NOMATCH:
		return "no match";
	case FL_E_AGE_HMAC:
		return "HMAC failure";
	case FL_E_CANCELLED:
		return "cancelled";
	case FL_E_EXISTS:
		return "exists";
	case FL_E_INTEGRITY:
		return "integrity";
	case FL_E_NOTFOUND:
		return "not found";
	}
	return "unknown";
}
