#include "webhook_outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_backend.h"
#include "webhook.h"

/* Write one event; *id gets its row id. */
static int enqueue(struct lqos_db *db, const char *event_id, const char *target, const char *url,
		   const char *payload, long now, long long *id)
{
	struct lqos_param p[5] = {lqos_p_text(event_id), lqos_p_text(target), lqos_p_text(url),
				  lqos_p_text(payload), lqos_p_int(now)};

	return lqos_db_long(db,
			    "INSERT INTO webhook_outbox (event_id, target, url, payload, "
			    "created_at, next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5) "
			    "RETURNING id",
			    p, 5, id) == 0
		       ? 0
		       : -1;
}

/* Keep the outbox bounded by id range (cost independent of its size):
 * settled rows older than the newest `max` go; pending ones that old are
 * marked failed with a reason, never dropped silently. */
static int bound(struct lqos_db *db, long long newest, long max)
{
	struct lqos_param p;

	if (newest <= max)
		return 0;
	p = lqos_p_int(newest - max);
	if (lqos_db_exec(db,
			 "UPDATE webhook_outbox SET state = 'failed', lease_until = 0, "
			 "last_error = 'outbox full: more than outbox_max_events undelivered "
			 "events' WHERE state = 'pending' AND id <= ?1",
			 &p, 1, NULL) != 0)
		return -1;
	p = lqos_p_int(newest - 2 * max);
	return lqos_db_exec(db, "DELETE FROM webhook_outbox WHERE state != 'pending' AND id <= ?1",
			    &p, 1, NULL);
}

int lqos_outbox_store_hook(struct lqos_db *db, const char *test_id, const char *timestamp,
			   void *ctx, char *why, size_t whylen)
{
	struct lqos_outbox_ctx *c = ctx;
	struct lqos_webhook_row row = {
		.result = c->result,
		.test_id = test_id,
		.timestamp = timestamp,
		.client_ip = c->client_ip,
		.user_agent = c->user_agent,
	};
	long now = (long)time(NULL);
	char event_id[64];
	char *payload;
	long long id = 0;
	int rc;

	if (c->cfg->webhook_url != NULL) {
		payload = lqos_webhook_payload(&row);
		if (payload == NULL) {
			snprintf(why, whylen, "could not build the webhook payload");
			return -1;
		}
		rc = enqueue(db, test_id, LQOS_TARGET_WEBHOOK, c->cfg->webhook_url, payload, now,
			     &id);
		free(payload);
		if (rc != 0)
			goto fail;
		c->enqueued = true;
	}
	if (c->cfg->central_telemetry_url != NULL) {
		payload = lqos_webhook_central_payload(&row, event_id, sizeof(event_id));
		if (payload == NULL) {
			snprintf(why, whylen, "could not build the central payload");
			return -1;
		}
		rc = enqueue(db, event_id, LQOS_TARGET_CENTRAL, c->cfg->central_telemetry_url,
			     payload, now, &id);
		free(payload);
		if (rc != 0)
			goto fail;
		c->enqueued = true;
	}
	if (c->enqueued && bound(db, id, c->cfg->outbox_max_events) != 0)
		goto fail;
	return 0;
fail:
	lqos_db_describe(db, "queueing the webhook", why, whylen);
	return -1;
}

int lqos_outbox_claim(struct lqos_db *db, long now, long lease_seconds, const char *const *targets,
		      struct lqos_outbox_event *events, int max)
{
	struct lqos_param p[5];
	struct lqos_cursor *c;
	char sql[768];
	int n = 0, rc, np;
	size_t ntargets = 0;

	while (targets != NULL && targets[ntargets] != NULL)
		ntargets++;
	if (ntargets == 0 || max <= 0)
		return 0;
	/* One statement takes the lease: several flushers (one per test
	 * server, all on one PostgreSQL database) skip each other's locked
	 * rows instead of waiting for them or claiming them twice; a killed
	 * flusher's lease runs out and the event is due again. */
	snprintf(sql, sizeof(sql),
		 "UPDATE webhook_outbox SET lease_until = ?3 WHERE id IN "
		 "(SELECT id FROM webhook_outbox "
		 "WHERE state = 'pending' AND next_attempt_at <= ?1 AND lease_until <= ?1 "
		 "AND target IN (?4%s) ORDER BY next_attempt_at, id LIMIT ?2%s) "
		 "RETURNING id, event_id, target, payload, created_at, attempts",
		 ntargets > 1 ? ", ?5" : "", db->ops->sql.claim_lock_clause);
	p[0] = lqos_p_int(now);
	p[1] = lqos_p_int(max);
	p[2] = lqos_p_int(now + lease_seconds);
	p[3] = lqos_p_text(targets[0]);
	p[4] = lqos_p_text(ntargets > 1 ? targets[1] : NULL);
	np = ntargets > 1 ? 5 : 4;
	if (db->ops->txn.begin(db) != 0)
		return -1;
	c = lqos_db_query(db, sql, p, np);
	if (c == NULL)
		goto fail;
	while ((rc = lqos_cursor_next(c)) == 1 && n < max) {
		struct lqos_outbox_event *ev = &events[n];
		memset(ev, 0, sizeof(*ev));
		ev->id = lqos_cursor_int(c, 0);
		snprintf(ev->event_id, sizeof(ev->event_id), "%s", lqos_cursor_text(c, 1, NULL));
		snprintf(ev->target, sizeof(ev->target), "%s", lqos_cursor_text(c, 2, NULL));
		ev->payload = strdup(lqos_cursor_text(c, 3, NULL));
		ev->created_at = (long)lqos_cursor_int(c, 4);
		ev->attempts = (long)lqos_cursor_int(c, 5);
		n++;
	}
	lqos_cursor_free(c);
	if (rc < 0 || db->ops->txn.commit(db) != 0)
		goto fail;
	return n;
fail:
	db->ops->txn.rollback(db);
	for (int i = 0; i < n; i++)
		lqos_outbox_event_free(&events[i]);
	return -1;
}

void lqos_outbox_event_free(struct lqos_outbox_event *ev)
{
	free(ev->payload);
	ev->payload = NULL;
}

/* Record one attempt's outcome: `state` delivered (delivered_at = now),
 * pending (retry at next_at) or failed; the lease ends. One statement:
 * its own transaction on either back end. */
static int record_attempt(struct lqos_db *db, long long id, const char *state, long now,
			  long http_status, const char *error, long next_at)
{
	struct lqos_param p[6] = {
		lqos_p_int(id),
		lqos_p_int(now),
		http_status > 0 ? lqos_p_int(http_status) : lqos_p_null(),
		lqos_p_text(error),
		lqos_p_int(next_at),
		lqos_p_text(state),
	};

	return lqos_db_exec(
		db,
		"UPDATE webhook_outbox SET state = ?6, last_attempt_at = ?2, last_status = ?3, "
		"last_error = CASE WHEN ?6 = 'delivered' THEN last_error ELSE ?4 END, "
		"next_attempt_at = CASE WHEN ?6 = 'delivered' THEN next_attempt_at ELSE ?5 END, "
		"delivered_at = CASE WHEN ?6 = 'delivered' THEN ?2 ELSE delivered_at END, "
		"attempts = attempts + 1, lease_until = 0 WHERE id = ?1",
		p, 6, NULL);
}

int lqos_outbox_delivered(struct lqos_db *db, long long id, long now, long http_status)
{
	return record_attempt(db, id, "delivered", now, http_status, NULL, 0);
}

int lqos_outbox_failed(struct lqos_db *db, long long id, long now, long http_status,
		       const char *error, long next_at, bool give_up)
{
	return record_attempt(db, id, give_up ? "failed" : "pending", now, http_status, error,
			      next_at);
}

int lqos_outbox_release(struct lqos_db *db, long long id, long next_at)
{
	struct lqos_param p[2] = {lqos_p_int(id), lqos_p_int(next_at)};

	return lqos_db_exec(
		db, "UPDATE webhook_outbox SET lease_until = 0, next_attempt_at = ?2 WHERE id = ?1",
		p, 2, NULL);
}

static json_t *target_stats(struct lqos_db *db, const char *target, long now, int *ok)
{
	struct lqos_param p = lqos_p_text(target);
	struct lqos_cursor *c;
	json_t *o = json_object();
	long long v;
	int rc;

	/* Every state appears, with 0 when no event is in it. */
	json_object_set_new(o, "pending", json_integer(0));
	json_object_set_new(o, "delivered", json_integer(0));
	json_object_set_new(o, "failed", json_integer(0));
	c = lqos_db_query(db,
			  "SELECT state, count(*) FROM webhook_outbox WHERE target = ?1 "
			  "AND state IN ('pending', 'delivered', 'failed') GROUP BY state",
			  &p, 1);
	if (c == NULL) {
		*ok = 0;
	} else {
		while ((rc = lqos_cursor_next(c)) == 1)
			json_object_set_new(o, lqos_cursor_text(c, 0, NULL),
					    json_integer(lqos_cursor_int(c, 1)));
		if (rc != 0)
			*ok = 0;
		lqos_cursor_free(c);
	}
	json_object_set_new(o, "oldest_pending_age_seconds", json_null());
	if (lqos_db_long(db,
			 "SELECT min(created_at) FROM webhook_outbox WHERE target = ?1 "
			 "AND state = 'pending'",
			 &p, 1, &v) == 0)
		json_object_set_new(o, "oldest_pending_age_seconds", json_integer(now - v));
	json_object_set_new(o, "last_error", json_null());
	json_object_set_new(o, "last_error_at", json_null());
	c = lqos_db_query(db,
			  "SELECT last_error, last_attempt_at, event_id FROM webhook_outbox "
			  "WHERE target = ?1 AND last_error IS NOT NULL "
			  "ORDER BY last_attempt_at DESC LIMIT 1",
			  &p, 1);
	if (c != NULL && lqos_cursor_next(c) == 1) {
		json_object_set_new(o, "last_error", json_string(lqos_cursor_text(c, 0, NULL)));
		if (lqos_cursor_type(c, 1) != LQOS_VAL_NULL)
			json_object_set_new(o, "last_error_at",
					    json_integer(lqos_cursor_int(c, 1)));
		json_object_set_new(o, "last_error_event",
				    json_string(lqos_cursor_text(c, 2, NULL)));
	}
	lqos_cursor_free(c);
	json_object_set_new(o, "last_delivery_at", json_null());
	if (lqos_db_long(db, "SELECT max(delivered_at) FROM webhook_outbox WHERE target = ?1", &p,
			 1, &v) == 0)
		json_object_set_new(o, "last_delivery_at", json_integer(v));
	return o;
}
int lqos_outbox_stats(struct lqos_db *db, long now, json_t *obj)
{
	int ok = 1;

	json_object_set_new(obj, LQOS_TARGET_WEBHOOK,
			    target_stats(db, LQOS_TARGET_WEBHOOK, now, &ok));
	json_object_set_new(obj, LQOS_TARGET_CENTRAL,
			    target_stats(db, LQOS_TARGET_CENTRAL, now, &ok));
	return ok ? 0 : -1;
}

long lqos_outbox_backoff(long attempts, double jitter)
{
	double delay = 30.0;

	for (long i = 1; i < attempts && delay < 6 * 3600.0; i++)
		delay *= 2;
	if (delay > 6 * 3600.0)
		delay = 6 * 3600.0;
	delay *= 0.8 + 0.4 * jitter;
	return (long)delay;
}
