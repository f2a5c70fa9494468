#include "rows.h"

#include <math.h>
#include <string.h>

#include "http.h"

/* A JSON string for `len` bytes at `s` (escaped; invalid UTF-8 is written
 * as null, as Jansson would refuse it). */
static void rows_write_string(FILE *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		size_t n = lqos_utf8_seq_len(p + i, len - i);
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
				rows_write_string(out, (const char *)sqlite3_column_text(st, i),
						  (size_t)sqlite3_column_bytes(st, i));
				break;
			default: fputs("null", out);
			}
		}
		fputc('}', out);
	}
	return rc == SQLITE_DONE ? rows : -1;
}
