/* GET /.well-known/nq: the configuration that networkQuality (macOS,
 * iOS) and other clients of draft-ietf-ippm-responsiveness read to test
 * against this server. Public.
 *
 * The URLs are built from `public_url` in the configuration (scheme, host,
 * optional port and path prefix) or, when unset, from the request's own
 * scheme and Host. Each is given under both spellings clients use:
 *   small_https_download_url / small_download_url   1 byte  (GET /api/load/small)
 *   large_https_download_url / large_download_url   8 GiB   (GET /api/load/download)
 *   https_upload_url / upload_url                   any size (POST or PUT /api/load/upload) */
#include <stdlib.h>
#include <string.h>

#include "libcommon/app.h"

/* Characters allowed in a host[:port] taken from the request. */
static bool host_ok(const char *h)
{
	if (h == NULL || *h == '\0' || strlen(h) > 255)
		return false;
	for (const char *c = h; *c; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || strchr(".-:[]", *c) != NULL))
			return false;
	}
	return true;
}

/* public_url: http(s)://, then printable ASCII without spaces, quotes,
 * query or fragment. */
static bool public_url_ok(const char *u)
{
	if (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0)
		return false;
	if (strlen(u) > 512)
		return false;
	for (const char *c = u; *c; c++) {
		if (*c <= ' ' || *c >= 0x7f || strchr("\"'<>\\^`{|}?#", *c) != NULL)
			return false;
	}
	u += strncmp(u, "https://", 8) == 0 ? 8 : 7;
	return *u != '\0' && *u != '/';
}

static void handle(struct lqos_app *app)
{
	char base[600];
	const char *pub = app->config_ok ? app->cfg.public_url : NULL;
	const char *paths[][3] = {
		{"small_https_download_url", "small_download_url", "/api/load/small"},
		{"large_https_download_url", "large_download_url", "/api/load/download"},
		{"https_upload_url", "upload_url", "/api/load/upload"},
	};
	json_t *urls;
	size_t len;

	if (!app->config_ok) {
		lqos_respond_error(app->out, 503, "Retry-After: 60\r\n", "%s", app->cfg.error);
		return;
	}
	if (pub != NULL && *pub != '\0') {
		if (!public_url_ok(pub)) {
			lqos_respond_error(app->out, 503, NULL,
					   "public_url in the configuration must be http:// or "
					   "https:// and a host (no spaces, query or fragment)");
			return;
		}
		snprintf(base, sizeof(base), "%s", pub);
	} else {
		const char *host = getenv("HTTP_HOST");
		const char *scheme = getenv("REQUEST_SCHEME");
		const char *https = getenv("HTTPS");

		if (!host_ok(host)) {
			lqos_respond_error(app->out, 400, NULL,
					   "the request has no usable Host; set public_url in "
					   "the configuration");
			return;
		}
		if (scheme == NULL || (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
			scheme = https != NULL && strcmp(https, "on") == 0 ? "https" : "http";
		snprintf(base, sizeof(base), "%s://%s", scheme, host);
	}
	len = strlen(base);
	while (len > 0 && base[len - 1] == '/')
		base[--len] = '\0';

	urls = json_object();
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char url[700];
		snprintf(url, sizeof(url), "%s%s", base, paths[i][2]);
		json_object_set_new(urls, paths[i][0], json_string(url));
		json_object_set_new(urls, paths[i][1], json_string(url));
	}
	lqos_respond_json(app->out, 200, NULL, json_pack("{s:i, s:o}", "version", 1, "urls", urls));
}

int main(void)
{
	return lqos_app_main("GET", LQOS_PUBLIC, handle);
}
