/* The answer shared by /recent and /customer: the rows a filter matches,
 * as JSON (rows written straight to text) or as CSV. */
#ifndef LQOS_SUPPORT_H
#define LQOS_SUPPORT_H

#include "app.h"
#include "query.h"

/* Read the request's limit= (default `default_limit`, at most
 * max_stored_tests) and filters; with `prefix` (the /customer path), also
 * restrict to that address or prefix, its canonical form written to
 * `canonical`. Returns the database, or NULL when the request has been
 * answered already (400, 503). */
struct lqos_db *lqos_support_request(struct lqos_app *app, long default_limit, const char *prefix,
				     char *canonical, size_t canonical_len, long *limit,
				     struct lqos_filter *f);

/* Answer with the rows `f` matches, newest first, at most `limit`. For
 * CSV the download is named `csv_name`. `client_ip` (canonical address or
 * prefix) selects the /customer shape {"client_ip", "total_tests"};
 * NULL the /recent shape {"total", "matching"}. Returns the status. */
int lqos_support_answer_tests(struct lqos_app *app, struct lqos_db *db, const struct lqos_filter *f,
			      long limit, const char *csv_name, const char *client_ip);

#endif
