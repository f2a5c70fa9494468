/* The app's store: opened on first use (apart from app.c so that only
 * the programs that store or read results link the store and libpq). */
#include "app.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"

/* Log the effective configuration (local storage only, or with webhook)
 * when it differs from the one last logged, once across processes. */
static void log_effective_config(struct lqos_db *db, const struct lqos_config *cfg)
{
	char line[1200];
	char url[1024];
	char *last;

	if (lqos_config_webhook_enabled(cfg)) {
		lqos_url_redact(cfg->webhook_url, url, sizeof(url));
		snprintf(line, sizeof(line), "ISP telemetry: local storage + webhook to %s", url);
	} else {
		snprintf(line, sizeof(line), "ISP telemetry: local storage only");
	}
	last = lqos_store_meta_get(db, "effective_config");
	if (last == NULL || strcmp(last, line) != 0) {
		/* Only the process that records the change logs it: many
		 * requests can see the old value at once. */
		if (lqos_store_meta_change(db, "effective_config", line) == 1)
			lqos_log("%s", line);
	}
	free(last);
}

struct lqos_db *lqos_app_db_quiet(struct lqos_app *app, char *why, size_t whylen)
{
	if (app->db != NULL)
		return app->db;
	lqos_timing("request");
	app->db = lqos_store_connect(&app->cfg, why, whylen);
	app->db_close = lqos_store_close;
	lqos_timing("db_open");
	if (app->db == NULL) {
		lqos_log("ISP telemetry: %s", why);
		return NULL;
	}
	log_effective_config(app->db, &app->cfg);
	return app->db;
}

struct lqos_db *lqos_app_db(struct lqos_app *app)
{
	char why[512];

	if (lqos_app_db_quiet(app, why, sizeof(why)) == NULL)
		lqos_respond_error(app->out, 503, "Retry-After: 60\r\n", "%s", why);
	return app->db;
}
