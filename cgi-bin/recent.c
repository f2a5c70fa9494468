/* GET /api/telemetry/recent?limit=N[&grade=D,F][&test_type=..][&since=..]
 * [&until=..][&format=csv]: newest results from all customers. */
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

	if (!lqos_app_support_auth(app) || !lqos_app_limit(app, 50, app->cfg.max_stored_tests, &limit))
		return;
	if (lqos_filter_parse(app->req.query, &filter, why, sizeof(why)) != 0) {
		lqos_respond_error(app->out, 400, NULL, "%s", why);
		return;
	}
	if ((db = lqos_app_db(app)) == NULL)
		return;
	tests = lqos_query_tests(db, &filter, limit, &total, why, sizeof(why));
	if (tests == NULL) {
		lqos_respond_error(app->out, 503, NULL, "%s", why);
		return;
	}
	if (filter.csv) {
		lqos_respond_csv(app->out, tests, "recent-tests.csv");
		json_decref(tests);
		return;
	}
	lqos_respond_json(app->out, 200, NULL,
			  json_pack("{s:b, s:I, s:I, s:I, s:o}", "success", 1,
				    "total", (json_int_t)json_array_size(tests),
				    "matching", (json_int_t)total,
				    "limit", (json_int_t)limit, "tests", tests));
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
