#include "auth.h"

#include <string.h>
#include <strings.h>

#include "app.h"
#include "ipaddr.h"
#include "sha256.h"

/* Compare digests, not the strings: equal length, constant time, and
 * the key's length does not leak through an early exit. The project's
 * own SHA-256 (sha256.c), so the support API's programs link no
 * libcrypto: they start like the others, with nothing to load. */
static bool key_matches(const char *given, size_t given_len, const char *expected)
{
	unsigned char a[LQOS_SHA256_LEN], b[LQOS_SHA256_LEN];
	volatile unsigned char diff = 0;

	lqos_sha256(given, given_len, a);
	lqos_sha256(expected, strlen(expected), b);
	for (size_t i = 0; i < sizeof(a); i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

static const char *bearer_token(const char *authorization, size_t *len)
{
	const char *p;

	if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
		return NULL;
	p = authorization + 7;
	while (*p == ' ')
		p++;
	*len = strlen(p);
	while (*len > 0 && (p[*len - 1] == ' ' || p[*len - 1] == '\t'))
		(*len)--;
	return *len > 0 ? p : NULL;
}

enum lqos_auth_result lqos_auth_check(const struct lqos_config *cfg, const struct lqos_request *req,
				      const char *client_ip)
{
	const char *key = cfg->telemetry_api_key;
	char query_key[512];
	const char *token;
	size_t len;
	bool sent = false;

	if (key == NULL || key[0] == '\0')
		return lqos_ip_is_loopback(client_ip) ? LQOS_AUTH_OK : LQOS_AUTH_NOT_LOOPBACK;

	token = bearer_token(req->authorization, &len);
	if (token != NULL) {
		sent = true;
		if (key_matches(token, len, key))
			return LQOS_AUTH_OK;
	}
	if (req->x_api_key != NULL && req->x_api_key[0] != '\0') {
		sent = true;
		if (key_matches(req->x_api_key, strlen(req->x_api_key), key))
			return LQOS_AUTH_OK;
	}
	if (cfg->allow_query_api_key) {
		int found = lqos_query_get(req->query, "api_key", query_key, sizeof(query_key));
		if (found != 0)
			sent = true;
		if (found == 1 && key_matches(query_key, strlen(query_key), key))
			return LQOS_AUTH_OK;
	}
	return sent ? LQOS_AUTH_WRONG : LQOS_AUTH_MISSING;
}

const char *lqos_auth_message(enum lqos_auth_result r)
{
	switch (r) {
	case LQOS_AUTH_MISSING:
		return "API key required: send it as 'Authorization: Bearer <key>', "
		       "'X-API-Key: <key>' or '?api_key=<key>'";
	case LQOS_AUTH_WRONG:
		return "API key is wrong: send the telemetry_api_key from the server's "
		       "config as 'Authorization: Bearer <key>', 'X-API-Key: <key>' or "
		       "'?api_key=<key>'";
	case LQOS_AUTH_NOT_LOOPBACK:
		return "no telemetry_api_key is configured, so the support API answers only "
		       "on the server itself (localhost); set telemetry_api_key in "
		       "/etc/lqos_test.conf and send it as 'Authorization: Bearer <key>', "
		       "'X-API-Key: <key>' or '?api_key=<key>'";
	default: return "ok";
	}
}

/* Here, not in app.c, so that only the support API's programs link the
 * digest (libcrypto): the public endpoints never reach this gate. */
bool lqos_app_support_auth(struct lqos_app *app)
{
	enum lqos_auth_result r;

	if (!app->config_ok) {
		lqos_respond_error(
			app->out, 503, NULL,
			"support API disabled: the configuration file cannot be used (%s); "
			"fix it and retry",
			app->cfg.error);
		return false;
	}
	if (app->client_ip[0] == '\0') {
		lqos_respond_error(app->out, 400, NULL, "client address is missing or invalid");
		return false;
	}
	/* A proxy that forwarded an unusable X-Forwarded-For does not get the
	 * loopback exemption for its unknown client. */
	r = lqos_auth_check(&app->cfg, &app->req, app->client_ip_is_proxy ? "" : app->client_ip);
	if (r != LQOS_AUTH_OK) {
		lqos_respond_error(app->out, 401,
				   "WWW-Authenticate: Bearer realm=\"lqos-telemetry\"\r\n", "%s",
				   lqos_auth_message(r));
		return false;
	}
	return true;
}
