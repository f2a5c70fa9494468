/* GET /api/telemetry/recent?limit=N[&grade=D,F][&test_type=..][&since=..]
 * [&until=..][&format=csv]: newest results from all customers. */
#include "libcommon/app.h"
#include "libcommon/query.h"
#include "libcommon/support.h"

static void handle(struct lqos_app *app)
{
	struct lqos_filter filter;
	char why[512];
	long limit;
	sqlite3 *db;

	if (!lqos_app_limit(app, 50, app->cfg.max_stored_tests, &limit))
		return;
	if (lqos_filter_parse(app->req.query, &filter, why, sizeof(why)) != 0) {
		lqos_respond_error(app->out, 400, NULL, "%s", why);
		return;
	}
	if ((db = lqos_app_db(app)) == NULL)
		return;
	lqos_support_answer_tests(app, db, &filter, limit, "recent-tests.csv", NULL);
}

int main(void)
{
	return lqos_app_main("GET", LQOS_SUPPORT, handle);
}
