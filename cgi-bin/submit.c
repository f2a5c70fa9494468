/* POST /api/telemetry: grade a test result, store it, answer with the
 * grades (even when storing failed). */
#include <math.h>
#include <stdlib.h>

#include "libcommon/app.h"
#include "libcommon/log.h"
#include "libcommon/result.h"
#include "libcommon/store.h"
#include "libcommon/submit.h"

int main(void)
{
	struct lqos_app app;

	lqos_app_init(&app, stdin, stdout);
	if (lqos_app_method(&app, "POST"))
		lqos_submit_handle(&app);
	lqos_app_free(&app);
	return 0;
}
