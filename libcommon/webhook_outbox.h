/* The webhook outbox: events written with their result, claimed by the
 * flusher with a lease, each outcome recorded in its own transaction. */
#ifndef LQOS_WEBHOOK_OUTBOX_H
#define LQOS_WEBHOOK_OUTBOX_H

#include <jansson.h>
#include <stdbool.h>

#include "config.h"
#include "result.h"
#include "store.h"

#define LQOS_TARGET_WEBHOOK "webhook"
#define LQOS_TARGET_CENTRAL "central"

/* What lqos_outbox_store_hook needs; pass as the store hook's ctx. */
struct lqos_outbox_ctx {
	const struct lqos_config *cfg;
	const struct lqos_result *result;
	const char *client_ip;
	const char *user_agent;
	bool enqueued; /* set when at least one event was written */
};

/* An lqos_store_hook: writes the webhook event (when webhook_url is set)
 * and the anonymised central event (when central_telemetry_url is set)
 * inside the result's transaction, then bounds the outbox. */
int lqos_outbox_store_hook(struct lqos_db *db, const char *test_id, const char *timestamp,
			   void *ctx, char *why, size_t whylen);

struct lqos_outbox_event {
	long long id;
	char event_id[64];
	char target[16];
	char *payload; /* owned */
	long created_at;
	long attempts;
};

/* Claim up to `max` due events (pending, due, lease expired) for
 * `lease_seconds` in one short write transaction (rows another flusher
 * holds are skipped). `targets` limits
 * the claim to those targets (NULL-terminated list). Returns the count
 * (events filled), or -1. Free each payload with lqos_outbox_event_free. */
int lqos_outbox_claim(struct lqos_db *db, long now, long lease_seconds, const char *const *targets,
		      struct lqos_outbox_event *events, int max);

void lqos_outbox_event_free(struct lqos_outbox_event *ev);

/* Record a delivery. Returns 0 or -1. */
int lqos_outbox_delivered(struct lqos_db *db, long long id, long now, long http_status);

/* Record a failed attempt: next try at `next_at`, or state failed when
 * `give_up`. Returns 0 or -1. */
int lqos_outbox_failed(struct lqos_db *db, long long id, long now, long http_status,
		       const char *error, long next_at, bool give_up);

/* Release a claim without an attempt (target not configured). */
int lqos_outbox_release(struct lqos_db *db, long long id, long next_at);

/* Queue state for stats: {"pending", "delivered", "failed",
 * "oldest_pending_age_seconds", "last_error", "last_error_at",
 * "last_delivery_at"} per target under `obj`. Returns 0, or -1 when a
 * count could not be read (the object then holds what could). */
int lqos_outbox_stats(struct lqos_db *db, long now, json_t *obj);

/* Exponential backoff with jitter: 30 s doubling per attempt, capped at
 * 6 h, +-20 %. `attempts` counts the failed attempts so far (>= 1);
 * `jitter` is a number in [0, 1). */
long lqos_outbox_backoff(long attempts, double jitter);

#endif
