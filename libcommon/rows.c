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

/* The row writers run single-threaded over thousands of cells: the
 * unlocked stdio calls skip a lock per character. */
static void json_text(FILE *out, const unsigned char *p, size_t len)
{
	putc_unlocked('"', out);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];
		if (c == '"' || c == '\\') {
			putc_unlocked('\\', out);
			putc_unlocked(c, out);
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(out, "\\u%04x", c);
		} else {
			putc_unlocked(c, out);
		}
	}
	putc_unlocked('"', out);
}

/* The decimal digits of `v` at `buf` (at least 21 bytes); the count. */
static int format_digits(char *buf, unsigned long long v)
{
	char rev[24];
	int n = 0;

	do {
		rev[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (int i = 0; i < n; i++)
		buf[i] = rev[n - 1 - i];
	return n;
}

/* What "%.15g" prints for a value with at most two decimals (every
 * stored measurement is rounded so at insert), without the general
 * floating-point formatter, which cost most of /recent's time.
 * Returns false (nothing written) for any other value. */
static bool write_centi(FILE *out, double d)
{
	char buf[32];
	long long n, ip;
	int frac, len = 0;

	if (!(fabs(d) < 1e12) || d == 0.0)
		return false;
	n = llround(d * 100.0);
	if ((double)n / 100.0 != d)
		return false;
	if (n < 0) {
		buf[len++] = '-';
		n = -n;
	}
	ip = n / 100;
	frac = (int)(n % 100);
	len += format_digits(buf + len, (unsigned long long)ip);
	if (frac != 0) {
		buf[len++] = '.';
		buf[len++] = (char)('0' + frac / 10);
		if (frac % 10 != 0)
			buf[len++] = (char)('0' + frac % 10);
	}
	fwrite(buf, 1, (size_t)len, out);
	return true;
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
	case LQOS_VAL_INT: {
		char buf[24];
		long long v = lqos_cursor_int(st, i);
		int n = 0;
		if (v < 0)
			buf[n++] = '-';
		/* The magnitude as unsigned, so INT64_MIN is no overflow. */
		n += format_digits(buf + n,
				   v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v);
		fwrite(buf, 1, (size_t)n, out);
		break;
	}
	case LQOS_VAL_REAL:
		d = lqos_cursor_real(st, i);
		if (isfinite(d) && !write_centi(out, d))
			fprintf(out, "%.15g", d);
		else if (!isfinite(d))
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
		if (format == LQOS_ROWS_JSON) {
			fputs(i ? ", \"" : "\"", out);
			fputs(lqos_cursor_name(st, i), out);
			fputs("\": ", out);
		} else if (i)
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

struct rows_buffer {
	char **data;
	size_t *len;
	size_t cap;
};

static ssize_t rows_buffer_write(void *cookie, const char *buf, size_t n)
{
	struct rows_buffer *b = cookie;

	if (*b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64 * 1024;
		char *p;
		while (cap < *b->len + n + 1)
			cap *= 2;
		p = realloc(*b->data, cap);
		if (p == NULL)
			return 0; /* stdio reports the error */
		*b->data = p;
		b->cap = cap;
	}
	memcpy(*b->data + *b->len, buf, n);
	*b->len += n;
	(*b->data)[*b->len] = '\0';
	return (ssize_t)n;
}

/* Like open_memstream, a buffer nothing was written to is still a string. */
static int rows_buffer_close(void *cookie)
{
	struct rows_buffer *b = cookie;
	int rc = 0;

	if (*b->data == NULL) {
		*b->data = calloc(1, 1);
		if (*b->data == NULL)
			rc = -1;
	}
	free(b);
	return rc;
}

FILE *lqos_rows_buffer(char **data, size_t *len)
{
	static const cookie_io_functions_t io = {.write = rows_buffer_write,
						 .close = rows_buffer_close};
	struct rows_buffer *b = calloc(1, sizeof(*b));
	FILE *f;

	*data = NULL;
	*len = 0;
	if (b == NULL)
		return NULL;
	b->data = data;
	b->len = len;
	f = fopencookie(b, "w", io);
	if (f == NULL)
		free(b);
	return f;
}

json_t *lqos_rows_json(struct lqos_cursor *st)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = lqos_rows_buffer(&text, &len);
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
