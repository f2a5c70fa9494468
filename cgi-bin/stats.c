/* GET /api/telemetry/stats: what is stored and how the system is set up. */
#include "libcommon/app.h"
#include "libcommon/log.h"
#include "libcommon/stats.h"

int main(void)
{
	struct lqos_app app;

	lqos_app_init(&app, stdin, stdout);
	if (lqos_app_method(&app, "GET") && lqos_app_support_auth(&app))
		lqos_stats_handle(&app);
	lqos_app_free(&app);
	return 0;
}
