/* Support API authentication. */
#ifndef LQOS_AUTH_H
#define LQOS_AUTH_H

#include "config.h"
#include "http.h"

enum lqos_auth_result {
	LQOS_AUTH_OK,
	LQOS_AUTH_MISSING, /* a key is configured, none was sent */
	LQOS_AUTH_WRONG, /* a key was sent and does not match */
	LQOS_AUTH_NOT_LOOPBACK, /* no key configured, request not from loopback */
};

/* Check the request against cfg->telemetry_api_key. Keys are read from
 * "Authorization: Bearer", "X-API-Key" and (when allowed) ?api_key=,
 * compared in constant time. Without a configured key only loopback
 * clients (`client_ip`, already resolved) are let in. */
enum lqos_auth_result lqos_auth_check(const struct lqos_config *cfg, const struct lqos_request *req,
				      const char *client_ip);

/* A message for the 401 body, naming the ways to authenticate. Static. */
const char *lqos_auth_message(enum lqos_auth_result r);

#endif
