/* GET /api/telemetry/stats: what is stored and how the system is set up. */
#include "libcommon/app.h"
#include "libcommon/log.h"
#include "libcommon/stats.h"

int main(void)
{
	return lqos_app_main("GET", LQOS_SUPPORT, lqos_stats_handle);
}
