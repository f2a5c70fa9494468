/* GET /api/telemetry/metrics: Prometheus text exposition format. */
#ifndef LQOS_METRICS_H
#define LQOS_METRICS_H

#include <stdio.h>

#include "store.h"

#include "config.h"

/* Write the metrics (text format 0.0.4) for `db` to `out`, body only.
 * `now` is unix seconds. Returns 0, or -1 on a database error. */
int lqos_metrics_write(FILE *out, struct lqos_db *db, const struct lqos_config *cfg, long now);

#endif
