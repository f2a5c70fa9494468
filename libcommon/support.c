#include "support.h"

#include <stdlib.h>

#include "csv.h"

static int answer_csv(struct lqos_app *app, sqlite3 *db, const struct lqos_filter *f, long limit,
		      const char *csv_name)
{
	char why[512];
	long total = 0;
	json_t *tests = lqos_query_tests(db, f, limit, &total, why, sizeof(why));
	int status;

	if (tests == NULL)
		return lqos_respond_error(app->out, 503, NULL, "%s", why);
	status = lqos_respond_csv(app->out, tests, csv_name);
	json_decref(tests);
	return status;
}

int lqos_support_answer_tests(struct lqos_app *app, sqlite3 *db, const struct lqos_filter *f,
			      long limit, const char *csv_name, const char *client_ip)
{
	char why[512], head[256];
	char *rows = NULL;
	size_t rows_len = 0;
	long n, total = 0;
	FILE *mem;
	int status;

	if (f->csv)
		return answer_csv(app, db, f, limit, csv_name);
	/* Rows go straight to text: limit=1000 is 24,000 values. */
	mem = open_memstream(&rows, &rows_len);
	n = mem ? lqos_query_write_tests(db, f, limit, mem, &total, why, sizeof(why)) : -1;
	if (mem)
		fclose(mem);
	if (n < 0) {
		free(rows);
		return lqos_respond_error(app->out, 503, NULL, "%s", mem ? why : "out of memory");
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
