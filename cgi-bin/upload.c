/* POST /api/load/upload: the bufferbloat test's upload sink. Public. */
#include "libcommon/app.h"
#include "libcommon/load.h"

static void handle(struct lqos_app *app)
{
	lqos_load_sink(&app->req, app->in, app->out, LQOS_SINK_MAX_BODY);
}

int main(void)
{
	return lqos_app_main("POST", LQOS_PUBLIC, handle);
}
