/* GET /api/telemetry/recent?limit=N[&grade=D,F][&test_type=..][&since=..]
 * [&until=..][&format=csv]: newest results from all customers. */
#include <stdlib.h>

#include "libcommon/app.h"
#include "libcommon/csv.h"
#include "libcommon/query.h"

static void handle(struct lqos_app *app)
{
	struct lqos_filter filter;
	char why[512];
	long limit, total = 0;
	sqlite3 *db;
	json_t *tests;
	char head[256];
	char *rows = NULL;
	size_t rows_len = 0;
	FILE *mem;
	long n;

	if (!lqos_app_support_auth(app) ||
	    !lqos_app_limit(app, 50, app->cfg.max_stored_tests, &limit))
		return;
	if (lqos_filter_parse(app->req.query, &filter, why, sizeof(why)) != 0) {
		lqos_respond_error(app->out, 400, NULL, "%s", why);
		return;
	}
	if ((db = lqos_app_db(app)) == NULL)
		return;
	if (filter.csv) {
		tests = lqos_query_tests(db, &filter, limit, &total, why, sizeof(why));
		if (tests == NULL) {
			lqos_respond_error(app->out, 503, NULL, "%s", why);
			return;
		}
		lqos_respond_csv(app->out, tests, "recent-tests.csv");
		json_decref(tests);
		return;
	}
	/* Rows go straight to text: limit=1000 is 24,000 values. */
	mem = open_memstream(&rows, &rows_len);
	n = mem ? lqos_query_write_tests(db, &filter, limit, mem, &total, why, sizeof(why)) : -1;
	if (mem)
		fclose(mem);
	if (n < 0) {
		free(rows);
		lqos_respond_error(app->out, 503, NULL, "%s", mem ? why : "out of memory");
		return;
	}
	snprintf(head, sizeof(head),
		 "\"success\": true,\n  \"total\": %ld,\n  \"matching\": %ld,"
		 "\n  \"limit\": %ld",
		 n, total, limit);
	lqos_respond_tests(app->out, head, rows, rows_len);
	free(rows);
}

int main(void)
{
	struct lqos_app app;

	lqos_app_init(&app, stdin, stdout);
	if (lqos_app_method(&app, "GET"))
		handle(&app);
	lqos_app_free(&app);
	return 0;
}
