#include "support.h"

#include <stdlib.h>
#include <string.h>

#include "rows.h"

static int respond_csv(FILE *out, const char *filename, const char *rows, size_t rows_len)
{
	fputs("Status: 200 OK\r\n", out);
	fputs("Content-Type: text/csv; charset=utf-8; header=present\r\n", out);
	fprintf(out, "Content-Disposition: attachment; filename=\"%s\"\r\n", filename);
	fputs("Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n", out);
	fwrite(rows, 1, rows_len, out);
	fflush(out);
	return 200;
}

struct lqos_db *lqos_support_request(struct lqos_app *app, long default_limit, const char *prefix,
				     char *canonical, size_t canonical_len, long *limit,
				     struct lqos_filter *f)
{
	char why[512];

	if (!lqos_app_limit(app, default_limit, app->cfg.max_stored_tests, limit))
		return NULL;
	if (lqos_filter_parse(app->req.query, f, why, sizeof(why)) != 0) {
		lqos_respond_error(app->out, 400, NULL, "%s", why);
		return NULL;
	}
	if (prefix != NULL && lqos_filter_set_prefix(f, prefix, canonical, canonical_len) != 0) {
		lqos_respond_error(
			app->out, 400, NULL,
			"'%.64s' is not a valid IPv4 or IPv6 address or prefix "
			"(e.g. 192.0.2.7, 2001:db8::1, 203.0.113.0/24, 2001:db8:1200::/56)",
			strlen(prefix) <= 64 ? prefix : "(too long)");
		return NULL;
	}
	return lqos_app_db(app);
}

int lqos_support_answer_tests(struct lqos_app *app, struct lqos_db *db, const struct lqos_filter *f,
			      long limit, const char *csv_name, const char *client_ip)
{
	char why[512], head[256];
	char *rows = NULL;
	size_t rows_len = 0;
	long n, total = 0;
	FILE *mem;
	int status;

	/* Rows go straight to text (limit=1000 is 24,000 values), into memory
	 * first so that a database error is still a clean 503. */
	mem = lqos_rows_buffer(&rows, &rows_len);
	n = mem ? lqos_query_write_tests(db, f, limit, f->csv ? LQOS_ROWS_CSV : LQOS_ROWS_JSON, mem,
					 &total, why, sizeof(why))
		: -1;
	if (mem != NULL && fclose(mem) != 0 && n >= 0) {
		n = -1;
		snprintf(why, sizeof(why), "out of memory");
	}
	if (n < 0) {
		free(rows);
		return lqos_respond_error(app->out, 503, NULL, "%s", mem ? why : "out of memory");
	}
	if (f->csv) {
		status = respond_csv(app->out, csv_name, rows, rows_len);
		free(rows);
		return status;
	}
	if (client_ip != NULL)
		/* canonical inet_ntop text and a prefix length: nothing to escape */
		snprintf(head, sizeof(head),
			 "\"success\": true,\n  \"client_ip\": \"%s\",\n  \"total_tests\": %ld,"
			 "\n  \"limit\": %ld",
			 client_ip, total, limit);
	else
		snprintf(head, sizeof(head),
			 "\"success\": true,\n  \"total\": %ld,\n  \"matching\": %ld,"
			 "\n  \"limit\": %ld",
			 n, total, limit);
	status = lqos_respond_tests(app->out, head, rows, rows_len);
	free(rows);
	return status;
}
