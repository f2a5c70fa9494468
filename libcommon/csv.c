#include "csv.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

/* One CSV field for a text value, into a new malloc'd string. */
static char *csv_field(const char *text)
{
	size_t len = strlen(text);
	/* Worst case: every byte a quote doubled, a formula guard, 2 quotes. */
	char *out = malloc(2 * len + 4);
	bool quote = false;
	size_t o = 0;

	if (out == NULL)
		return NULL;
	if (len > 0 && strchr("=+-@\t\r", text[0]) != NULL)
		quote = true;
	for (const char *p = text; *p; p++)
		if (*p == ',' || *p == '"' || *p == '\r' || *p == '\n')
			quote = true;
	if (quote)
		out[o++] = '"';
	/* A leading ' makes spreadsheets show the text instead of running it. */
	if (len > 0 && strchr("=+-@\t\r", text[0]) != NULL)
		out[o++] = '\'';
	for (const char *p = text; *p; p++) {
		if (*p == '"')
			out[o++] = '"';
		out[o++] = *p;
	}
	if (quote)
		out[o++] = '"';
	out[o] = '\0';
	return out;
}

static void write_value(FILE *out, json_t *v)
{
	char *field;

	switch (json_typeof(v)) {
	case JSON_INTEGER: fprintf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
	case JSON_REAL: fprintf(out, "%.15g", json_real_value(v)); break;
	case JSON_STRING:
		field = csv_field(json_string_value(v));
		if (field)
			fputs(field, out);
		free(field);
		break;
	case JSON_TRUE: fputs("true", out); break;
	case JSON_FALSE: fputs("false", out); break;
	default: break; /* null: empty field */
	}
}

int lqos_respond_csv(FILE *out, json_t *rows, const char *filename)
{
	json_t *first = json_array_get(rows, 0);
	const char *key;
	json_t *value;
	size_t i;

	fputs("Status: 200 OK\r\n", out);
	fputs("Content-Type: text/csv; charset=utf-8; header=present\r\n", out);
	fprintf(out, "Content-Disposition: attachment; filename=\"%s\"\r\n", filename);
	fputs("Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n", out);
	if (first != NULL) {
		int n = 0;
		json_object_foreach(first, key, value)
		{
			fprintf(out, "%s%s", n++ ? "," : "", key);
		}
		fputs("\r\n", out);
	} else {
		/* No rows: still the header, so that an empty export opens as a
		 * table with its columns. */
		for (const char *p = LQOS_STORE_ROW_COLUMNS; *p; p++)
			if (*p != ' ')
				fputc(*p, out);
		fputs("\r\n", out);
	}
	json_array_foreach(rows, i, first)
	{
		int n = 0;
		json_object_foreach(first, key, value)
		{
			if (n++)
				fputc(',', out);
			write_value(out, value);
		}
		fputs("\r\n", out);
	}
	fflush(out);
	return 200;
}
