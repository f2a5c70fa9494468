/* Any other URL under /api/: a JSON 404 that lists what exists. */
#include "libcommon/app.h"

int main(void)
{
	struct lqos_app app;

	lqos_app_init(&app, stdin, stdout);
	lqos_respond_error(
		app.out, 404, NULL,
		"no such API endpoint; available: POST /api/telemetry, GET /api/sponsor, "
		"GET /api/telemetry/recent, GET /api/telemetry/customer/<ip>, "
		"GET /api/telemetry/stats, GET /api/telemetry/test/<test_id>, "
		"GET /api/telemetry/metrics, GET /api/load/download, POST /api/load/upload, "
		"GET /api/ping");
	lqos_app_free(&app);
	return 0;
}
