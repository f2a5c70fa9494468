/* GET /api/telemetry/recent?limit=N: newest results from all customers. */
#include "libcommon/app.h"
#include "libcommon/store.h"

static void handle(struct lqos_app *app)
{
	char why[512];
	long limit;
	sqlite3 *db;
	json_t *tests;

	if (!lqos_app_support_auth(app) || !lqos_app_limit(app, 50, app->cfg.max_stored_tests, &limit))
		return;
	if ((db = lqos_app_db(app)) == NULL)
		return;
	tests = lqos_store_recent(db, limit, why, sizeof(why));
	if (tests == NULL) {
		lqos_respond_error(app->out, 503, NULL, "%s", why);
		return;
	}
	lqos_respond_json(app->out, 200, NULL,
			  json_pack("{s:b, s:I, s:I, s:o}", "success", 1,
				    "total", (json_int_t)json_array_size(tests),
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
