/* GET /api/telemetry/customer/<ip>[/<prefix length>]?limit=N&...filters:
 * one customer's history, by address or by the prefix they move in. */
#include "libcommon/app.h"
#include "libcommon/support.h"

static void handle(struct lqos_app *app)
{
	const char *path = app->req.path_info;
	struct lqos_filter filter;
	char ip[LQOS_IP_STRLEN + 8];
	long limit;
	struct lqos_db *db;

	if (path == NULL || path[0] != '/' || path[1] == '\0') {
		lqos_respond_error(app->out, 400, NULL,
				   "give the customer's IP address in the URL: "
				   "/api/telemetry/customer/<ip> or "
				   "/api/telemetry/customer/<prefix>/<length>");
		return;
	}
	db = lqos_support_request(app, 20, path + 1, ip, sizeof(ip), &limit, &filter);
	if (db != NULL)
		lqos_support_answer_tests(app, db, &filter, limit, "customer-tests.csv", ip);
}

int main(void)
{
	return lqos_app_main("GET", LQOS_SUPPORT, handle);
}
