/* The handler behind GET /api/telemetry/stats. */
#ifndef LQOS_STATS_H
#define LQOS_STATS_H

#include "app.h"

/* Answer with counts, configuration (never secrets) and queue state.
 * Auth must already have passed. */
void lqos_stats_handle(struct lqos_app *app);

#endif
