/* GET /api/telemetry/customer/<ip>[/<prefix length>]?limit=N&...filters:
 * one customer's history, by address or by the prefix they move in. */
#include <string.h>

#include "libcommon/app.h"
#include "libcommon/query.h"
#include "libcommon/support.h"

static void handle(struct lqos_app *app)
{
	const char *path = app->req.path_info;
	struct lqos_filter filter;
	char ip[LQOS_IP_STRLEN + 8];
	char why[512];
	long limit;
	sqlite3 *db;

	if (path == NULL || path[0] != '/' || path[1] == '\0') {
		lqos_respond_error(app->out, 400, NULL,
				   "give the customer's IP address in the URL: "
				   "/api/telemetry/customer/<ip> or "
				   "/api/telemetry/customer/<prefix>/<length>");
		return;
	}
	if (!lqos_app_limit(app, 20, app->cfg.max_stored_tests, &limit))
		return;
	if (lqos_filter_parse(app->req.query, &filter, why, sizeof(why)) != 0) {
		lqos_respond_error(app->out, 400, NULL, "%s", why);
		return;
	}
	if (lqos_filter_set_prefix(&filter, path + 1, ip, sizeof(ip)) != 0) {
		lqos_respond_error(
			app->out, 400, NULL,
			"'%.64s' is not a valid IPv4 or IPv6 address or prefix "
			"(e.g. 192.0.2.7, 2001:db8::1, 203.0.113.0/24, 2001:db8:1200::/56)",
			strlen(path + 1) <= 64 ? path + 1 : "(too long)");
		return;
	}
	if ((db = lqos_app_db(app)) == NULL)
		return;
	lqos_support_answer_tests(app, db, &filter, limit, "customer-tests.csv", ip);
}

int main(void)
{
	return lqos_app_main("GET", LQOS_SUPPORT, handle);
}
