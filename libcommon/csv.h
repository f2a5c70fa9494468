/* CSV export of support API results (RFC 4180). */
#ifndef LQOS_CSV_H
#define LQOS_CSV_H

#include <stdio.h>

#include <jansson.h>

/* Write `rows` (an array of flat objects with the same keys) as a CSV
 * response: a header row, CRLF line ends, fields quoted when needed, and
 * text that a spreadsheet would run as a formula (= + - @ tab CR first)
 * prefixed with a quote. `filename` names the download. With no rows the
 * header is the support API's columns (LQOS_STORE_ROW_COLUMNS). Returns 200. */
int lqos_respond_csv(FILE *out, json_t *rows, const char *filename);

#endif
