#include "rows.h"

#include <math.h>
#include <string.h>

/* Length of a valid UTF-8 sequence at s, 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
	size_t n;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (n > avail)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3fu);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

void lqos_rows_write_string(FILE *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_len(p + i, len - i);
		if (n == 0) {
			fputs("null", out);
			return;
		}
		i += n;
	}
	fputc('"', out);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];
		if (c == '"' || c == '\\') {
			fputc('\\', out);
			fputc(c, out);
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(out, "\\u%04x", c);
		} else {
			fputc(c, out);
		}
	}
	fputc('"', out);
}

long lqos_rows_write(FILE *out, sqlite3_stmt *st, const char *indent)
{
	int ncol = sqlite3_column_count(st);
	long rows = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		fputs(rows++ ? ",\n" : "\n", out);
		fputs(indent, out);
		fputc('{', out);
		for (int i = 0; i < ncol; i++) {
			const char *name = sqlite3_column_name(st, i);
			double d;
			fprintf(out, "%s\"%s\": ", i ? ", " : "", name);
			switch (sqlite3_column_type(st, i)) {
			case SQLITE_INTEGER:
				fprintf(out, "%lld", (long long)sqlite3_column_int64(st, i));
				break;
			case SQLITE_FLOAT:
				d = sqlite3_column_double(st, i);
				if (isfinite(d))
					fprintf(out, "%.15g", d);
				else
					fputs("null", out);
				break;
			case SQLITE_TEXT:
				lqos_rows_write_string(out,
						       (const char *)sqlite3_column_text(st, i),
						       (size_t)sqlite3_column_bytes(st, i));
				break;
			default: fputs("null", out);
			}
		}
		fputc('}', out);
	}
	return rc == SQLITE_DONE ? rows : -1;
}
