#include "webhook_outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "webhook.h"

static int enqueue(sqlite3 *db, const char *event_id, const char *target, const char *url,
		   const char *payload, long now)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(
		db,
		"INSERT INTO webhook_outbox (event_id, target, url, payload, created_at, "
		"next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
		-1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_text(st, 1, event_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, url, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, payload, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Keep the outbox bounded by rowid range (cost independent of its size):
 * settled rows older than the newest `max` go; pending ones that old are
 * marked failed with a reason, never dropped silently. */
static int bound(sqlite3 *db, long max)
{
	sqlite3_int64 newest = sqlite3_last_insert_rowid(db);
	sqlite3_stmt *st;
	int rc;

	if (newest <= max)
		return SQLITE_OK;
	rc = sqlite3_prepare_v2(
		db,
		"UPDATE webhook_outbox SET state = 'failed', lease_until = 0, "
		"last_error = 'outbox full: more than outbox_max_events undelivered events' "
		"WHERE state = 'pending' AND id <= ?1",
		-1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(st, 1, newest - max);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return rc;
	rc = sqlite3_prepare_v2(db,
				"DELETE FROM webhook_outbox WHERE state != 'pending' AND id <= ?1",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(st, 1, newest - 2 * max);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int lqos_outbox_store_hook(sqlite3 *db, const char *test_id, const char *timestamp, void *ctx,
			   char *why, size_t whylen)
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
	int rc;

	if (c->cfg->webhook_url != NULL) {
		payload = lqos_webhook_payload(&row);
		if (payload == NULL) {
			snprintf(why, whylen, "could not build the webhook payload");
			return -1;
		}
		rc = enqueue(db, test_id, LQOS_TARGET_WEBHOOK, c->cfg->webhook_url, payload, now);
		free(payload);
		if (rc != SQLITE_OK)
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
			     payload, now);
		free(payload);
		if (rc != SQLITE_OK)
			goto fail;
		c->enqueued = true;
	}
	if (c->enqueued && bound(db, c->cfg->outbox_max_events) != SQLITE_OK)
		goto fail;
	return 0;
fail:
	snprintf(why, whylen, "telemetry database error while queueing the webhook: %s",
		 sqlite3_errmsg(db));
	return -1;
}

int lqos_outbox_claim(sqlite3 *db, long now, long lease_seconds, const char *const *targets,
		      struct lqos_outbox_event *events, int max)
{
	sqlite3_stmt *sel = NULL, *upd = NULL;
	char sql[512];
	int n = 0, rc;
	size_t ntargets = 0;

	while (targets != NULL && targets[ntargets] != NULL)
		ntargets++;
	if (ntargets == 0 || max <= 0)
		return 0;
	snprintf(sql, sizeof(sql),
		 "SELECT id, event_id, target, payload, created_at, attempts FROM webhook_outbox "
		 "WHERE state = 'pending' AND next_attempt_at <= ?1 AND lease_until <= ?1 "
		 "AND target IN (?3%s) ORDER BY next_attempt_at, id LIMIT ?2",
		 ntargets > 1 ? ", ?4" : "");
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db, sql, -1, &sel, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "UPDATE webhook_outbox SET lease_until = ?2 WHERE id = ?1", -1,
			       &upd, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(sel, 1, now);
	sqlite3_bind_int(sel, 2, max);
	sqlite3_bind_text(sel, 3, targets[0], -1, SQLITE_STATIC);
	if (ntargets > 1)
		sqlite3_bind_text(sel, 4, targets[1], -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(sel)) == SQLITE_ROW && n < max) {
		struct lqos_outbox_event *ev = &events[n];
		memset(ev, 0, sizeof(*ev));
		ev->id = sqlite3_column_int64(sel, 0);
		snprintf(ev->event_id, sizeof(ev->event_id), "%s", sqlite3_column_text(sel, 1));
		snprintf(ev->target, sizeof(ev->target), "%s", sqlite3_column_text(sel, 2));
		ev->payload = strdup((const char *)sqlite3_column_text(sel, 3));
		ev->created_at = (long)sqlite3_column_int64(sel, 4);
		ev->attempts = (long)sqlite3_column_int64(sel, 5);
		n++;
		sqlite3_bind_int64(upd, 1, ev->id);
		sqlite3_bind_int64(upd, 2, now + lease_seconds);
		if (sqlite3_step(upd) != SQLITE_DONE)
			goto fail;
		sqlite3_reset(upd);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		for (int i = 0; i < n; i++)
			lqos_outbox_event_free(&events[i]);
		return -1;
	}
	return n;
fail:
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	for (int i = 0; i < n; i++)
		lqos_outbox_event_free(&events[i]);
	return -1;
}

void lqos_outbox_event_free(struct lqos_outbox_event *ev)
{
	free(ev->payload);
	ev->payload = NULL;
}

/* Run one UPDATE in its own IMMEDIATE transaction (waits on the busy
 * timeout instead of failing on a lock upgrade). */
/* Run one UPDATE in its own IMMEDIATE transaction, or inside the
 * caller's when one is open (the flusher records a batch at once). */
static int exec_update(sqlite3 *db, sqlite3_stmt *st)
{
	int rc;

	if (!sqlite3_get_autocommit(db)) {
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		return rc == SQLITE_DONE ? 0 : -1;
	}
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return -1;
	}
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

/* Record one attempt's outcome: `state` delivered (delivered_at = now),
 * pending (retry at next_at) or failed; the lease ends. */
static int record_attempt(sqlite3 *db, long long id, const char *state, long now, long http_status,
			  const char *error, long next_at)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(
		    db,
		    "UPDATE webhook_outbox SET state = ?6, last_attempt_at = ?2, last_status = ?3, "
		    "last_error = CASE WHEN ?6 = 'delivered' THEN last_error ELSE ?4 END, "
		    "next_attempt_at = CASE WHEN ?6 = 'delivered' THEN next_attempt_at ELSE ?5 "
		    "END, "
		    "delivered_at = CASE WHEN ?6 = 'delivered' THEN ?2 ELSE delivered_at END, "
		    "attempts = attempts + 1, lease_until = 0 WHERE id = ?1",
		    -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	if (http_status > 0)
		sqlite3_bind_int64(st, 3, http_status);
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_text(st, 4, error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, next_at);
	sqlite3_bind_text(st, 6, state, -1, SQLITE_STATIC);
	return exec_update(db, st);
}

int lqos_outbox_delivered(sqlite3 *db, long long id, long now, long http_status)
{
	return record_attempt(db, id, "delivered", now, http_status, NULL, 0);
}

int lqos_outbox_failed(sqlite3 *db, long long id, long now, long http_status, const char *error,
		       long next_at, bool give_up)
{
	return record_attempt(db, id, give_up ? "failed" : "pending", now, http_status, error,
			      next_at);
}

int lqos_outbox_release(sqlite3 *db, long long id, long next_at)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(
		    db,
		    "UPDATE webhook_outbox SET lease_until = 0, next_attempt_at = ?2 WHERE id = ?1",
		    -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, next_at);
	return exec_update(db, st);
}

static json_t *target_stats(sqlite3 *db, const char *target, long now, int *ok)
{
	sqlite3_stmt *st;
	json_t *o = json_object();

	/* Every state appears, with 0 when no event is in it. */
	json_object_set_new(o, "pending", json_integer(0));
	json_object_set_new(o, "delivered", json_integer(0));
	json_object_set_new(o, "failed", json_integer(0));
	if (sqlite3_prepare_v2(db,
			       "SELECT state, count(*) FROM webhook_outbox WHERE target = ?1 "
			       "AND state IN ('pending', 'delivered', 'failed') GROUP BY state",
			       -1, &st, NULL) != SQLITE_OK) {
		*ok = 0;
	} else {
		int rc;
		sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			json_object_set_new(o, (const char *)sqlite3_column_text(st, 0),
					    json_integer(sqlite3_column_int64(st, 1)));
		if (rc != SQLITE_DONE)
			*ok = 0;
		sqlite3_finalize(st);
	}
	json_object_set_new(o, "oldest_pending_age_seconds", json_null());
	if (sqlite3_prepare_v2(db,
			       "SELECT min(created_at) FROM webhook_outbox WHERE target = ?1 "
			       "AND state = 'pending'",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
			json_object_set_new(o, "oldest_pending_age_seconds",
					    json_integer(now - sqlite3_column_int64(st, 0)));
		sqlite3_finalize(st);
	}
	json_object_set_new(o, "last_error", json_null());
	json_object_set_new(o, "last_error_at", json_null());
	if (sqlite3_prepare_v2(db,
			       "SELECT last_error, last_attempt_at, event_id FROM webhook_outbox "
			       "WHERE target = ?1 AND last_error IS NOT NULL "
			       "ORDER BY last_attempt_at DESC LIMIT 1",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			json_object_set_new(o, "last_error",
					    json_string((const char *)sqlite3_column_text(st, 0)));
			if (sqlite3_column_type(st, 1) != SQLITE_NULL)
				json_object_set_new(o, "last_error_at",
						    json_integer(sqlite3_column_int64(st, 1)));
			json_object_set_new(o, "last_error_event",
					    json_string((const char *)sqlite3_column_text(st, 2)));
		}
		sqlite3_finalize(st);
	}
	json_object_set_new(o, "last_delivery_at", json_null());
	if (sqlite3_prepare_v2(db, "SELECT max(delivered_at) FROM webhook_outbox WHERE target = ?1",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
			json_object_set_new(o, "last_delivery_at",
					    json_integer(sqlite3_column_int64(st, 0)));
		sqlite3_finalize(st);
	}
	return o;
}

int lqos_outbox_stats(sqlite3 *db, long now, json_t *obj)
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
