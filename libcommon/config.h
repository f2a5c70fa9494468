/* Configuration: /etc/lqos_test.conf (or $LQOS_TEST_CONF), shell-style
 * key="value" lines parsed with libconfuse. */
#ifndef LQOS_CONFIG_H
#define LQOS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "ipaddr.h"

#define LQOS_CONFIG_DEFAULT_DB "/opt/libreqos_data/isp_telemetry.db"
#define LQOS_CONFIG_MAX_PROXIES 32

struct lqos_config {
	/* All strings are owned by the struct; NULL when unset. */
	char *path; /* the file that was read (or would be) */
	char *sponsor_name;
	char *sponsor_url;
	char *sponsor_city;
	char *webhook_url;
	char *webhook_secret;
	char *telemetry_api_key;
	char *database_path;
	char *server_name;
	char *central_telemetry_url;
	char *public_url; /* e.g. https://speed.isp.example: /.well-known/nq's URLs */
	long max_stored_tests;
	long max_tests_per_ip_per_hour;
	bool allow_query_api_key;
	long webhook_connect_timeout; /* seconds */
	long webhook_timeout; /* seconds */
	long webhook_max_age_hours; /* give up after this long */
	long outbox_max_events;
	bool prompt_delivery; /* start a flusher after each submission */
	struct lqos_cidr trusted_proxies[LQOS_CONFIG_MAX_PROXIES];
	size_t n_trusted_proxies;
	/* Set when the file exists but could not be used: "file:line: why".
	 * The support API then fails closed. */
	char error[512];
};

/* Path of the config file: $LQOS_TEST_CONF when set and non-empty, else
 * the built-in default. The returned string is static or from getenv. */
const char *lqos_config_default_path(void);

/* Load `path` into `cfg` (defaults first, then the file, then the
 * LIBREQOS_* environment fallbacks for keys the file does not set).
 * A missing file is not an error. Returns 0 on success, -1 when the file
 * exists but is unreadable or invalid: cfg->error says why, and cfg still
 * holds defaults so public endpoints can carry on. Free with
 * lqos_config_free(). */
int lqos_config_load(struct lqos_config *cfg, const char *path);

/* Release the strings held by cfg. Safe on a zeroed struct. */
void lqos_config_free(struct lqos_config *cfg);

/* True when webhook delivery is configured. */
bool lqos_config_webhook_enabled(const struct lqos_config *cfg);

#endif
