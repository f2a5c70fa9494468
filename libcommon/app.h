/* The request pipeline every CGI program runs: environment into a
 * request, config, client address, then the gates (method, auth) before
 * any work. Handlers get the app and answer through lqos_respond_*. */
#ifndef LQOS_APP_H
#define LQOS_APP_H

#include <stdbool.h>
#include <stdio.h>

#include "store.h"

#include "auth.h"
#include "config.h"
#include "http.h"
#include "ipaddr.h"

struct lqos_app {
	FILE *in;
	FILE *out;
	struct lqos_request req;
	struct lqos_config cfg;
	bool config_ok; /* false: cfg.error says why */
	char client_ip[LQOS_IP_STRLEN];
	/* True when a trusted proxy sent X-Forwarded-For that named no usable
	 * client, so client_ip is the proxy's own address: stored as such, but
	 * never let through the loopback-only check. */
	bool client_ip_is_proxy;
	struct lqos_db *db; /* opened by lqos_app_db() */
	void (*db_close)(struct lqos_db *db); /* set with db */
};

/* Read the environment and the config. Logs a broken config (with file
 * and line) to stderr. Always succeeds; check app->config_ok. */
void lqos_app_init(struct lqos_app *app, FILE *in, FILE *out);

/* Read and drop any request body the handler left unread (so Apache
 * does not lose the response), close the database and free everything
 * the app owns. */
void lqos_app_free(struct lqos_app *app);

/* The method gate: true when REQUEST_METHOD is one of `allowed`
 * (comma-separated, e.g. "GET" or "POST"); otherwise answers 405 with
 * Allow and returns false. HEAD is never implied. */
bool lqos_app_method(struct lqos_app *app, const char *allowed);

/* The support API gate: answers 503 when the config is broken (fail
 * closed), 401 when the key is missing or wrong, 400 when the client
 * address is unusable. Returns true when the request may proceed. */
bool lqos_app_support_auth(struct lqos_app *app);

/* Open the database (once). On failure answers 503 with the reason and
 * returns NULL. Logs the effective configuration when it changed. */
struct lqos_db *lqos_app_db(struct lqos_app *app);

/* Open the database (once) without answering: NULL with `why` on
 * failure, so the caller can answer with more than the error. */
struct lqos_db *lqos_app_db_quiet(struct lqos_app *app, char *why, size_t whylen);

/* Who may call an endpoint: the gate run before the handler. A
 * pointer, not an enum, so that a public program does not reference
 * (and link) the support API's key check and its libcrypto digest. */
typedef bool (*lqos_app_gate)(struct lqos_app *app);
#define LQOS_PUBLIC ((lqos_app_gate)NULL) /* anyone: the test page's endpoints */
#define LQOS_SUPPORT lqos_app_support_auth /* the support API: key check first */

/* The whole life of a CGI program: read the request, pass the method gate
 * (`allowed`, see lqos_app_method) and, for LQOS_SUPPORT, the auth gate,
 * then `handler` answers; everything is freed. Returns main()'s status. */
int lqos_app_main(const char *allowed, lqos_app_gate audience,
		  void (*handler)(struct lqos_app *app));

/* Parse ?limit=: default when absent, 400 (answered here, returns false)
 * when not an integer in 1..max. */
bool lqos_app_limit(struct lqos_app *app, long def, long max, long *out);

#endif
