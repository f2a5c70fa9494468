/* GET /api/telemetry/stats: what is stored and how the system is set up. */
#include <time.h>

#include "libcommon/app.h"
#include "libcommon/log.h"
#include "libcommon/store.h"
#include "libcommon/webhook_outbox.h"

/* Counts, configuration (never secrets) and queue state. */
static void handle(struct lqos_app *app)
{
	char why[512], url[1024];
	struct lqos_db *db = lqos_app_db(app);
	json_t *body;

	if (db == NULL)
		return;
	body = json_pack("{s:b}", "success", 1);
	if (lqos_store_stats(db, body, why, sizeof(why)) != 0) {
		json_decref(body);
		lqos_respond_error(app->out, 503, NULL, "%s", why);
		return;
	}
	json_object_set_new(body, "max_stored_tests", json_integer(app->cfg.max_stored_tests));
	json_object_set_new(body, "max_tests_per_ip_per_hour",
			    json_integer(app->cfg.max_tests_per_ip_per_hour));
	json_object_set_new(body, "database", json_string(lqos_store_kind(db)));
	if (app->cfg.database_url != NULL) {
		/* Never a password (refused by the config); redacted anyway. */
		lqos_url_redact(app->cfg.database_url, url, sizeof(url));
		json_object_set_new(body, "database_url", json_string(url));
	} else {
		json_object_set_new(body, "database_path", json_string(app->cfg.database_path));
	}
	json_object_set_new(body, "webhook_enabled",
			    json_boolean(lqos_config_webhook_enabled(&app->cfg)));
	if (lqos_config_webhook_enabled(&app->cfg)) {
		lqos_url_redact(app->cfg.webhook_url, url, sizeof(url));
		json_object_set_new(body, "webhook_url", json_string(url));
	} else {
		json_object_set_new(body, "webhook_url", json_null());
	}
	json_object_set_new(body, "webhook_signed", json_boolean(app->cfg.webhook_secret != NULL));
	json_object_set_new(body, "api_key_configured",
			    json_boolean(app->cfg.telemetry_api_key != NULL));
	json_object_set_new(body, "central_forwarding",
			    json_boolean(app->cfg.central_telemetry_url != NULL));
	{
		json_t *queue = json_object();
		lqos_outbox_stats(db, (long)time(NULL), queue);
		json_object_set_new(body, "webhook_queue", queue);
	}
	lqos_respond_json(app->out, 200, NULL, body);
}

int main(void)
{
	return lqos_app_main("GET", LQOS_SUPPORT, handle);
}
