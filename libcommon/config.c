#include "config.h"

#include <confuse.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef LQOS_DEFAULT_CONF
#define LQOS_DEFAULT_CONF "/etc/lqos_test.conf"
#endif

/* Where the error callback writes while cfg_parse() runs: libconfuse
 * gives the callback no user-data pointer. Set and cleared around the
 * parse only. */
static _Thread_local struct lqos_config *error_sink;

const char *lqos_config_default_path(void)
{
	const char *env = getenv("LQOS_TEST_CONF");

	if (env != NULL && env[0] != '\0')
		return env;
	/* After a mod_rewrite internal redirect (shared hosting) Apache
	 * renames variables set before it. */
	env = getenv("REDIRECT_LQOS_TEST_CONF");
	if (env != NULL && env[0] != '\0')
		return env;
	return LQOS_DEFAULT_CONF;
}

/* Keep the first libconfuse error with its file and line. */
static void config_error_cb(cfg_t *c, const char *fmt, va_list ap)
{
	struct lqos_config *cfg = error_sink;
	char msg[384];

	if (cfg == NULL || cfg->error[0] != '\0')
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	snprintf(cfg->error, sizeof(cfg->error), "%s:%d: %s",
		 c->filename ? c->filename : "(config)", c->line, msg);
}

/* Range checks run while parsing so the error carries the line. */
static int validate_range(cfg_t *c, cfg_opt_t *opt, long lo, long hi)
{
	long v = cfg_opt_getnint(opt, cfg_opt_size(opt) - 1);

	if (v < lo || v > hi) {
		cfg_error(c, "%s must be between %ld and %ld, not %ld",
			  cfg_opt_name(opt), lo, hi, v);
		return -1;
	}
	return 0;
}

static int validate_max_stored(cfg_t *c, cfg_opt_t *opt)
{
	return validate_range(c, opt, 1, 100000000L);
}

static int validate_per_ip(cfg_t *c, cfg_opt_t *opt)
{
	return validate_range(c, opt, 0, 1000000L);
}

static int validate_timeout(cfg_t *c, cfg_opt_t *opt)
{
	return validate_range(c, opt, 1, 55);
}

static int validate_max_age(cfg_t *c, cfg_opt_t *opt)
{
	return validate_range(c, opt, 1, 24 * 30);
}

static int validate_outbox_max(cfg_t *c, cfg_opt_t *opt)
{
	return validate_range(c, opt, 10, 100000000L);
}

static int validate_url(cfg_t *c, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);

	if (v == NULL || v[0] == '\0')
		return 0;
	if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
		cfg_error(c, "%s must start with http:// or https://",
			  cfg_opt_name(opt));
		return -1;
	}
	for (const char *p = v; *p; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
			cfg_error(c, "%s must not contain spaces or control characters",
				  cfg_opt_name(opt));
			return -1;
		}
	}
	return 0;
}

static int validate_proxies(cfg_t *c, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);
	struct lqos_cidr tmp[LQOS_CONFIG_MAX_PROXIES];
	char bad[128];

	if (v == NULL)
		return 0;
	if (lqos_cidr_parse_list(v, tmp, LQOS_CONFIG_MAX_PROXIES, bad, sizeof(bad)) < 0) {
		cfg_error(c, "trusted_proxies: %s", bad);
		return -1;
	}
	return 0;
}

static char *dup_or_null(const char *s)
{
	if (s == NULL || s[0] == '\0')
		return NULL;
	return strdup(s);
}

static void set_defaults(struct lqos_config *cfg, const char *path)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->path = strdup(path);
	cfg->database_path = strdup(LQOS_CONFIG_DEFAULT_DB);
	cfg->max_stored_tests = 1000;
	cfg->max_tests_per_ip_per_hour = 60;
	cfg->allow_query_api_key = true;
	cfg->webhook_connect_timeout = 5;
	cfg->webhook_timeout = 10;
	cfg->webhook_max_age_hours = 72;
	cfg->outbox_max_events = 100000;
	cfg->prompt_delivery = true;
}

/* Environment fallbacks kept from the original implementation. */
static void apply_env_fallback(char **field, const char *var)
{
	const char *v;

	if (*field != NULL)
		return;
	v = getenv(var);
	if (v != NULL && v[0] != '\0')
		*field = strdup(v);
}

int lqos_config_load(struct lqos_config *cfg, const char *path)
{
	cfg_opt_t opts[] = {
		CFG_STR("sponsor_name", NULL, CFGF_NONE),
		CFG_STR("sponsor_url", NULL, CFGF_NONE),
		CFG_STR("sponsor_city", NULL, CFGF_NONE),
		CFG_STR("webhook_url", NULL, CFGF_NONE),
		CFG_STR("webhook_secret", NULL, CFGF_NONE),
		CFG_STR("telemetry_api_key", NULL, CFGF_NONE),
		CFG_STR("database_path", LQOS_CONFIG_DEFAULT_DB, CFGF_NONE),
		CFG_STR("server_name", NULL, CFGF_NONE),
		CFG_STR("trusted_proxies", NULL, CFGF_NONE),
		CFG_STR("central_telemetry_url", NULL, CFGF_NONE),
		CFG_INT("max_stored_tests", 1000, CFGF_NONE),
		CFG_INT("max_tests_per_ip_per_hour", 60, CFGF_NONE),
		CFG_BOOL("allow_query_api_key", cfg_true, CFGF_NONE),
		CFG_INT("webhook_connect_timeout", 5, CFGF_NONE),
		CFG_INT("webhook_timeout", 10, CFGF_NONE),
		CFG_INT("webhook_max_age_hours", 72, CFGF_NONE),
		CFG_INT("outbox_max_events", 100000, CFGF_NONE),
		CFG_BOOL("webhook_prompt_delivery", cfg_true, CFGF_NONE),
		/* Keys of other LibreQoS tools share the file: swallow them. */
		CFG_STR("__unknown", NULL, CFGF_NONE),
		CFG_END()
	};
	cfg_t *c = NULL;
	struct stat st;
	int rc = 0;
	int parsed;

	set_defaults(cfg, path);
	if (stat(path, &st) != 0) {
		if (errno != ENOENT && errno != ENOTDIR) {
			snprintf(cfg->error, sizeof(cfg->error), "%s: %s", path,
				 strerror(errno));
			rc = -1;
		}
		goto env;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(cfg->error, sizeof(cfg->error), "%s: not a regular file", path);
		rc = -1;
		goto env;
	}
	if (access(path, R_OK) != 0) {
		snprintf(cfg->error, sizeof(cfg->error),
			 "%s: cannot be read by this process (%s)", path, strerror(errno));
		rc = -1;
		goto env;
	}

	c = cfg_init(opts, CFGF_IGNORE_UNKNOWN);
	if (c == NULL) {
		snprintf(cfg->error, sizeof(cfg->error), "%s: out of memory", path);
		rc = -1;
		goto env;
	}
	error_sink = cfg;
	cfg_set_error_function(c, config_error_cb);
	cfg_set_validate_func(c, "max_stored_tests", validate_max_stored);
	cfg_set_validate_func(c, "max_tests_per_ip_per_hour", validate_per_ip);
	cfg_set_validate_func(c, "webhook_connect_timeout", validate_timeout);
	cfg_set_validate_func(c, "webhook_timeout", validate_timeout);
	cfg_set_validate_func(c, "webhook_max_age_hours", validate_max_age);
	cfg_set_validate_func(c, "outbox_max_events", validate_outbox_max);
	cfg_set_validate_func(c, "webhook_url", validate_url);
	cfg_set_validate_func(c, "central_telemetry_url", validate_url);
	cfg_set_validate_func(c, "trusted_proxies", validate_proxies);

	parsed = cfg_parse(c, path);
	error_sink = NULL;
	if (parsed != CFG_SUCCESS) {
		if (cfg->error[0] == '\0')
			snprintf(cfg->error, sizeof(cfg->error), "%s: cannot be parsed", path);
		rc = -1;
		goto env;
	}

	cfg->sponsor_name = dup_or_null(cfg_getstr(c, "sponsor_name"));
	cfg->sponsor_url = dup_or_null(cfg_getstr(c, "sponsor_url"));
	cfg->sponsor_city = dup_or_null(cfg_getstr(c, "sponsor_city"));
	cfg->webhook_url = dup_or_null(cfg_getstr(c, "webhook_url"));
	cfg->webhook_secret = dup_or_null(cfg_getstr(c, "webhook_secret"));
	cfg->telemetry_api_key = dup_or_null(cfg_getstr(c, "telemetry_api_key"));
	cfg->server_name = dup_or_null(cfg_getstr(c, "server_name"));
	cfg->central_telemetry_url = dup_or_null(cfg_getstr(c, "central_telemetry_url"));
	if (cfg_getstr(c, "database_path") != NULL && cfg_getstr(c, "database_path")[0] != '\0') {
		free(cfg->database_path);
		cfg->database_path = strdup(cfg_getstr(c, "database_path"));
	}
	cfg->max_stored_tests = cfg_getint(c, "max_stored_tests");
	cfg->max_tests_per_ip_per_hour = cfg_getint(c, "max_tests_per_ip_per_hour");
	cfg->allow_query_api_key = cfg_getbool(c, "allow_query_api_key") == cfg_true;
	cfg->webhook_connect_timeout = cfg_getint(c, "webhook_connect_timeout");
	cfg->webhook_timeout = cfg_getint(c, "webhook_timeout");
	cfg->webhook_max_age_hours = cfg_getint(c, "webhook_max_age_hours");
	cfg->outbox_max_events = cfg_getint(c, "outbox_max_events");
	cfg->prompt_delivery = cfg_getbool(c, "webhook_prompt_delivery") == cfg_true;
	if (cfg_getstr(c, "trusted_proxies") != NULL) {
		int n = lqos_cidr_parse_list(cfg_getstr(c, "trusted_proxies"), cfg->trusted_proxies,
					     LQOS_CONFIG_MAX_PROXIES, NULL, 0);
		cfg->n_trusted_proxies = n > 0 ? (size_t)n : 0;
	}

env:
	if (cfg->server_name == NULL) {
		char host[256];
		if (gethostname(host, sizeof(host)) == 0) {
			host[sizeof(host) - 1] = '\0';
			cfg->server_name = strdup(host);
		}
	}
	apply_env_fallback(&cfg->webhook_url, "LIBREQOS_WEBHOOK_URL");
	apply_env_fallback(&cfg->webhook_secret, "LIBREQOS_WEBHOOK_SECRET");
	apply_env_fallback(&cfg->telemetry_api_key, "LIBREQOS_TELEMETRY_API_KEY");
	if (c != NULL)
		cfg_free(c);
	return rc;
}

void lqos_config_free(struct lqos_config *cfg)
{
	char **fields[] = {
		&cfg->path, &cfg->sponsor_name, &cfg->sponsor_url, &cfg->sponsor_city,
		&cfg->webhook_url, &cfg->webhook_secret, &cfg->telemetry_api_key,
		&cfg->database_path, &cfg->server_name, &cfg->central_telemetry_url,
	};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		free(*fields[i]);
		*fields[i] = NULL;
	}
}

bool lqos_config_webhook_enabled(const struct lqos_config *cfg)
{
	return cfg->webhook_url != NULL && cfg->webhook_url[0] != '\0';
}
