#include "rows.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "store_backend.h"

static bool is_utf8(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t n = lqos_utf8_seq_len(p + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

static void json_text(FILE *out, const unsigned char *p, size_t len)
{
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

static void csv_text(FILE *out, const unsigned char *p, size_t len)
{
	/* A leading ' makes spreadsheets show the text instead of running it. */
	bool formula = len > 0 && strchr("=+-@\t\r", p[0]) != NULL;
	bool quote = formula;

	len = strnlen((const char *)p, len);
	for (size_t i = 0; i < len; i++)
		if (p[i] == ',' || p[i] == '"' || p[i] == '\r' || p[i] == '\n')
			quote = true;
	if (quote)
		fputc('"', out);
	if (formula)
		fputc('\'', out);
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '"')
			fputc('"', out);
		fputc(p[i], out);
	}
	if (quote)
		fputc('"', out);
}

/* One cell: numbers as numbers, text in the format's quoting; what has no
 * value (NULL, NaN, text that is not UTF-8) as null or an empty field. */
static void write_cell(FILE *out, struct lqos_cursor *st, int i, enum lqos_rows_format format)
{
	const char *null = format == LQOS_ROWS_JSON ? "null" : "";
	const unsigned char *text;
	size_t len;
	double d;

	switch (lqos_cursor_type(st, i)) {
	case LQOS_VAL_INT: fprintf(out, "%lld", lqos_cursor_int(st, i)); break;
	case LQOS_VAL_REAL:
		d = lqos_cursor_real(st, i);
		if (isfinite(d))
			fprintf(out, "%.15g", d);
		else
			fputs(null, out);
		break;
	case LQOS_VAL_TEXT:
		text = (const unsigned char *)lqos_cursor_text(st, i, &len);
		if (!is_utf8(text, len))
			fputs(null, out);
		else if (format == LQOS_ROWS_JSON)
			json_text(out, text, len);
		else
			csv_text(out, text, len);
		break;
	default: fputs(null, out);
	}
}

static void write_row(FILE *out, struct lqos_cursor *st, enum lqos_rows_format format)
{
	int ncol = lqos_cursor_ncols(st);

	if (format == LQOS_ROWS_JSON)
		fputc('{', out);
	for (int i = 0; i < ncol; i++) {
		if (format == LQOS_ROWS_JSON)
			fprintf(out, "%s\"%s\": ", i ? ", " : "", lqos_cursor_name(st, i));
		else if (i)
			fputc(',', out);
		write_cell(out, st, i, format);
	}
	fputs(format == LQOS_ROWS_JSON ? "}" : "\r\n", out);
}

long lqos_rows_write(FILE *out, struct lqos_cursor *st, enum lqos_rows_format format,
		     const char *indent)
{
	long rows = 0;
	int rc;

	if (format == LQOS_ROWS_CSV) {
		for (int i = 0; i < lqos_cursor_ncols(st); i++)
			fprintf(out, "%s%s", i ? "," : "", lqos_cursor_name(st, i));
		fputs("\r\n", out);
	}
	while ((rc = lqos_cursor_next(st)) == 1) {
		if (format == LQOS_ROWS_JSON) {
			fputs(rows ? ",\n" : "\n", out);
			fputs(indent, out);
		}
		write_row(out, st, format);
		rows++;
	}
	return rc == 0 ? rows : -1;
}

json_t *lqos_rows_json(struct lqos_cursor *st)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	json_t *rows = NULL;
	long n;

	if (mem == NULL)
		return NULL;
	fputc('[', mem);
	n = lqos_rows_write(mem, st, LQOS_ROWS_JSON, "");
	fputc(']', mem);
	fclose(mem);
	if (n >= 0)
		rows = json_loadb(text, len, JSON_ALLOW_NUL, NULL);
	free(text);
	return rows;
}
