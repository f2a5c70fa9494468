#include "app.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

/* Defined only in the storage programs built without libpq (see
 * store.h); NULL everywhere else. */
#pragma weak lqos_store_pg_handoff

void lqos_app_init(struct lqos_app *app, FILE *in, FILE *out)
{
	memset(app, 0, sizeof(*app));
	app->in = in;
	app->out = out;
	lqos_request_from_env(&app->req);
	app->config_ok = lqos_config_load(&app->cfg, lqos_config_default_path()) == 0;
	if (!app->config_ok)
		lqos_log("ISP telemetry: configuration error: %s", app->cfg.error);
	else if (lqos_store_pg_handoff != NULL)
		lqos_store_pg_handoff(&app->cfg);
	if (lqos_client_ip(app->req.remote_addr, app->req.x_forwarded_for, app->cfg.trusted_proxies,
			   app->cfg.n_trusted_proxies, app->client_ip) != 0)
		app->client_ip[0] = '\0';
	if (app->client_ip[0] != '\0' && app->req.x_forwarded_for != NULL &&
	    app->req.x_forwarded_for[0] != '\0') {
		char peer[LQOS_IP_STRLEN];
		app->client_ip_is_proxy = lqos_ip_canonical(app->req.remote_addr, peer) == 0 &&
					  strcmp(peer, app->client_ip) == 0 &&
					  app->cfg.n_trusted_proxies > 0;
	}
}

/* mod_cgid hands the request body to the program over a socket. A
 * program that exits with part of it unread makes the kernel reset that
 * socket, and Apache then loses the answer already written (the client
 * gets a truncated response or none): every early 4xx on a POST did.
 * So what the handler left unread is read and dropped, up to a bound. */
#define DRAIN_MAX (4L * 1024 * 1024)

static void drain_body(struct lqos_app *app)
{
	char buf[16384];
	long len;
	size_t left;

	if (app->in == NULL)
		return;
	if (app->req.content_length == NULL || app->req.content_length[0] == '\0') {
		/* A chunked body (answered 411): Apache ends it with EOF. */
		if (app->req.transfer_encoding == NULL || app->req.body != NULL)
			return;
		len = DRAIN_MAX;
	} else if (lqos_parse_long(app->req.content_length, 0, 1L << 40, &len) != 0 ||
		   (size_t)len <= app->req.body_len) {
		return;
	}
	left = (size_t)len - app->req.body_len;
	if (left > (size_t)DRAIN_MAX)
		left = (size_t)DRAIN_MAX;
	while (left > 0) {
		size_t n = fread(buf, 1, left < sizeof(buf) ? left : sizeof(buf), app->in);
		if (n == 0)
			break;
		left -= n;
	}
}

void lqos_app_free(struct lqos_app *app)
{
	drain_body(app);
	/* Through the pointer lqos_app_db set: programs that never open
	 * the store do not link it (nor libpq). */
	if (app->db != NULL)
		app->db_close(app->db);
	app->db = NULL;
	lqos_request_free(&app->req);
	lqos_config_free(&app->cfg);
}

bool lqos_app_method(struct lqos_app *app, const char *allowed)
{
	const char *m = app->req.method ? app->req.method : "";
	size_t mlen = strlen(m);
	const char *p = allowed;
	char header[128];

	while (mlen > 0 && *p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len == mlen && strncmp(p, m, len) == 0)
			return true;
		p = comma ? comma + 1 : p + len;
	}
	snprintf(header, sizeof(header), "Allow: %s\r\n", allowed);
	lqos_respond_error(app->out, 405, header, "method %s is not allowed here; use %s",
			   mlen ? (mlen <= 16 ? m : "(too long)") : "(none)", allowed);
	return false;
}

bool lqos_app_limit(struct lqos_app *app, long def, long max, long *out)
{
	char text[32];
	int found = lqos_query_get(app->req.query, "limit", text, sizeof(text));

	if (found == 0) {
		*out = def < max ? def : max;
		return true;
	}
	if (found < 0 || lqos_parse_long(text, 1, max, out) != 0) {
		lqos_respond_error(app->out, 400, NULL,
				   "parameter 'limit' must be a whole number from 1 to %ld", max);
		return false;
	}
	return true;
}

int lqos_app_main(const char *allowed, lqos_app_gate audience,
		  void (*handler)(struct lqos_app *app))
{
	struct lqos_app app;

	lqos_timing("main");
	lqos_app_init(&app, stdin, stdout);
	lqos_timing("config");
	if (lqos_app_method(&app, allowed) && (audience == LQOS_PUBLIC || audience(&app)))
		handler(&app);
	fflush(app.out);
	lqos_timing("response");
	lqos_app_free(&app);
	lqos_timing("exit");
	return 0;
}
