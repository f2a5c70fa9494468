/* GET /api/telemetry/recent?limit=N[&grade=D,F][&test_type=..][&since=..]
 * [&until=..][&format=csv]: newest results from all customers. */
#include "libcommon/app.h"
#include "libcommon/support.h"

static void handle(struct lqos_app *app)
{
	struct lqos_filter filter;
	long limit;
	struct lqos_db *db = lqos_support_request(app, 50, NULL, NULL, 0, &limit, &filter);

	if (db != NULL)
		lqos_support_answer_tests(app, db, &filter, limit, "recent-tests.csv", NULL);
}

int main(void)
{
	return lqos_app_main("GET", LQOS_SUPPORT, handle);
}
