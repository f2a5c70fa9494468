/* POST /api/load/upload: the bufferbloat test's upload sink. Public. */
#include "libcommon/app.h"
#include "libcommon/load.h"

int main(void)
{
	struct lqos_app app;

	lqos_app_init(&app, stdin, stdout);
	if (lqos_app_method(&app, "POST"))
		lqos_load_sink(&app.req, app.in, app.out, LQOS_SINK_MAX_BODY);
	lqos_app_free(&app);
	return 0;
}
