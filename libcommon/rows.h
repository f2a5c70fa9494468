/* Result rows written straight to JSON text: /recent?limit=1000 must not
 * pay for building and freeing a Jansson tree of 24,000 values. */
#ifndef LQOS_ROWS_H
#define LQOS_ROWS_H

#include <stdio.h>

#include <sqlite3.h>

/* Step `st` to the end, writing each row as a one-line JSON object
 * (column names as keys, numbers as numbers) separated by ",\n" with
 * `indent` before each. Returns the number of rows, or -1 when SQLite
 * failed (the caller discards what was written). Does not finalize. */
long lqos_rows_write(FILE *out, sqlite3_stmt *st, const char *indent);

#endif
