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
	return lqos_app_main("POST", LQOS_PUBLIC, lqos_submit_handle);
}
