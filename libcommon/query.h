/* Support API queries: the filters of /recent and /customer, parsed
 * from the query string and turned into one parameterised SELECT. */
#ifndef LQOS_QUERY_H
#define LQOS_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "grade.h"
#include "ipaddr.h"
#include "rows.h"
#include "store.h"

struct lqos_filter {
	enum lqos_grade grades[6]; /* overall_grade in this set */
	size_t n_grades;
	const char *test_type; /* "single_user", "virtual_household" or NULL */
	char since[32], until[32]; /* canonical timestamps, "" when unset */
	bool has_range; /* client_ip_bin in [lo, hi] */
	uint8_t lo[LQOS_IP_BLOB_MAX], hi[LQOS_IP_BLOB_MAX];
	size_t blob_len;
	bool csv; /* format=csv */
};

/* Parse grade=, test_type=, since=, until= and format= from `query`
 * (since and until are inclusive; a bare date in until means the end of
 * that day, UTC). Returns 0, or -1 with a message naming the parameter in
 * `why`. */
int lqos_filter_parse(const char *query, struct lqos_filter *f, char *why, size_t whylen);

/* Restrict to one address or a CIDR prefix ("203.0.113.0/24",
 * "2001:db8:1200::/56"). Writes the canonical form ("2001:db8:1200::/56"
 * or the address) to `canonical`. Returns 0 or -1. */
int lqos_filter_set_prefix(struct lqos_filter *f, const char *text, char *canonical,
			   size_t canonical_len);

/* Parse an ISO-8601 date or date-time (Z, +hh:mm or no zone = UTC) into
 * the stored form 2025-06-12T12:42:18.123Z. Returns 0 or -1. */
int lqos_parse_iso8601(const char *text, char out[32]);

/* Matching rows, newest first, at most `limit`; *total gets the number of
 * matching rows. New JSON array, or NULL with `why`. */
json_t *lqos_query_tests(struct lqos_db *db, const struct lqos_filter *f, long limit, long *total,
			 char *why, size_t whylen);

/* The same rows written to `out` in `format` (see lqos_rows_write);
 * returns how many, or -1 with `why`. */
long lqos_query_write_tests(struct lqos_db *db, const struct lqos_filter *f, long limit,
			    enum lqos_rows_format format, FILE *out, long *total, char *why,
			    size_t whylen);

#endif
