/* Webhook payloads, signatures and one HTTP delivery attempt. */
#ifndef LQOS_WEBHOOK_H
#define LQOS_WEBHOOK_H

#include <stddef.h>

#include "result.h"

#define LQOS_WEBHOOK_SOURCE "libreqos-bufferbloat"

struct lqos_webhook_row {
	const struct lqos_result *result; /* graded */
	const char *test_id;
	const char *timestamp; /* UTC ms Z */
	const char *client_ip;
	const char *user_agent; /* may be NULL */
};

/* The guide's payload, field for field, as compact JSON text.
 * Caller frees. NULL on allocation failure. */
char *lqos_webhook_payload(const struct lqos_webhook_row *row);

/* The anonymised copy for central_telemetry_url: no address, no
 * User-Agent, no test id, the time cut to the hour. `event_id` (random)
 * is written to event_id_out (at least 40 bytes). Caller frees. */
char *lqos_webhook_central_payload(const struct lqos_webhook_row *row, char *event_id_out,
				   size_t event_id_len);

/* "sha256=<hex HMAC-SHA256(secret, body)>" into out (at least 72 bytes).
 * Returns 0 or -1. */
int lqos_webhook_sign_legacy(const char *secret, const char *body, size_t len, char *out,
			     size_t outlen);

/* Standard Webhooks: "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>".
 * A secret of the form whsec_<base64> uses the decoded bytes as key,
 * any other secret its own bytes. Returns 0 or -1. */
int lqos_webhook_sign_standard(const char *secret, const char *id, long timestamp, const char *body,
			       size_t len, char *out, size_t outlen);

/* 1 when `secret` can sign: any plain secret up to 256 bytes, or whsec_
 * followed by base64 of 1 to 256 bytes. 0 otherwise ("whsec_====" holds
 * no key: it is refused, never signed with). */
int lqos_webhook_secret_valid(const char *secret);

/* The HMAC key of a secret: whsec_<base64> is the decoded bytes (at
 * least one; "=" padding is not key material), any other secret its own
 * bytes. Returns 0, or -1 for a secret that holds no valid key or one
 * longer than `keysize`. */
#define LQOS_WEBHOOK_KEY_MAX 256
int lqos_webhook_secret_key(const char *secret, unsigned char *key, size_t keysize, size_t *keylen);

struct lqos_webhook_attempt {
	long http_status; /* 0 when no HTTP answer */
	long retry_after; /* seconds from Retry-After, -1 when absent */
	char error[256]; /* curl error or a description, "" on success */
};

struct lqos_webhook_request {
	const char *url;
	const char *event_id;
	const char *body;
	size_t body_len;
	const char *secret; /* NULL: unsigned */
	long now; /* the webhook-timestamp */
	long connect_timeout; /* seconds */
	long total_timeout; /* seconds */
};

/* POST once (webhook_deliver.c, libcurl). Redirects are not followed. Returns 0 for any 2xx, -1
 * otherwise with `out` describing the failure. */
int lqos_webhook_post(const struct lqos_webhook_request *req, struct lqos_webhook_attempt *out);

/* Close the connection lqos_webhook_post keeps for the next event. */
void lqos_webhook_post_done(void);

#endif
