/*
 * How sops writes a scalar into a format that only holds strings (dotenv, INI): its
 * stores.ValToString.
 */
#ifndef FLEET_DOC_VALUE_STRING_H
#define FLEET_DOC_VALUE_STRING_H

#include "fleet/buf.h"
#include "fleet/doc.h"

/* Appends v's text as sops would write it; `where` names the key for errors. NULL and
 * BYTES have no faithful text form and are refused. */
int fl_doc_value_string(const struct fl_doc *v, const char *where, struct fl_buf *out);

#endif
