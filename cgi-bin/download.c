/* GET /api/load/download: the bufferbloat test's download source and the
 * networkQuality large object, 8 GiB generated on the fly with byte
 * ranges (libcommon/bulk.c). Public. */
#include <stdlib.h>
#include <string.h>

#include "libcommon/app.h"
#include "libcommon/bulk.h"

static void handle(struct lqos_app *app)
{
	lqos_bulk_respond(app->out, getenv("HTTP_RANGE"), LQOS_BULK_BYTES,
			  strcmp(app->req.method, "HEAD") == 0);
}

int main(void)
{
	return lqos_app_main("GET,HEAD", LQOS_PUBLIC, handle);
}
