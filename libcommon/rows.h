/* Result rows serialised once, straight from a store cursor, as JSON
 * or CSV: /recent?limit=1000 must not pay for building and freeing a
 * Jansson tree of 24,000 values. Every support API answer and export
 * goes through lqos_rows_write, so JSON and CSV cells always agree. */
#ifndef LQOS_ROWS_H
#define LQOS_ROWS_H

#include <stdio.h>

#include <jansson.h>

struct lqos_cursor;

enum lqos_rows_format {
	/* One-line JSON objects (column names as keys, numbers as numbers,
	 * NULL, non-finite numbers and text that is not UTF-8 as null),
	 * separated by ",\n", each after a newline and `indent`. */
	LQOS_ROWS_JSON,
	/* RFC 4180: a header row of the column names (also when there are no
	 * rows), CRLF line ends, fields quoted when needed, text a spreadsheet
	 * would run as a formula (= + - @ tab CR first) prefixed with a quote;
	 * what JSON writes as null is an empty field. */
	LQOS_ROWS_CSV,
};

/* Step `st` to the end writing each row to `out`. Returns the number of
 * rows, or -1 when the database failed (the caller discards what was written).
 * Does not finalize. */
long lqos_rows_write(FILE *out, struct lqos_cursor *st, enum lqos_rows_format format,
		     const char *indent);

/* Like open_memstream(): after fclose(), *data (malloc'd, NUL-terminated,
 * the caller frees it) and *len hold what was written; nothing written is
 * "", never NULL. It grows with realloc() and never zero-fills, so a large
 * answer costs one page fault per page written (glibc's memstream copies
 * and clears on every doubling: about three times as many). NULL when out
 * of memory. */
FILE *lqos_rows_buffer(char **data, size_t *len);

/* The same rows as a new Jansson array of objects (what LQOS_ROWS_JSON
 * writes, parsed), or NULL when the database failed or memory ran out. */
json_t *lqos_rows_json(struct lqos_cursor *st);

#endif
