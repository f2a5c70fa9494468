/* POST (or PUT) /api/load/upload: the upload sink of the bufferbloat test
 * and of networkQuality clients; any size. Public. */
#include "libcommon/app.h"
#include "libcommon/load.h"

static void handle(struct lqos_app *app)
{
	lqos_load_sink(&app->req, app->in, app->out, LQOS_SINK_MAX_BODY);
}

int main(void)
{
	return lqos_app_main("POST,PUT", LQOS_PUBLIC, handle);
}
