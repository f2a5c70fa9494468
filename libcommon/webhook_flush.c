#include "webhook_flush.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/rand.h>

#include "log.h"
#include "webhook_spawn.h"
#include "webhook_outbox.h"
#include "store.h"
#include "store_backend.h"
#include "webhook.h"

#define CLAIM_BATCH 16

static long clock_now(const struct lqos_flush_options *opt)
{
	return opt->now ? opt->now : (long)time(NULL);
}

static long monotonic_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec;
}

/* An exclusive lock beside the database so runs never overlap. Returns
 * the fd, -1 when another run holds it, -2 on error. */
static int take_lock(const char *db_path, long wait_ms)
{
	int fd = lqos_flush_lock_open(db_path);

	if (fd < 0) {
		lqos_log("Webhook flusher: cannot open lock file %s.flush.lock: %s", db_path,
			 strerror(errno));
		return -2;
	}
	for (long waited = 0;; waited += 100) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK || waited >= wait_ms)
			break;
		usleep(100 * 1000);
	}
	close(fd);
	return -1;
}

static double jitter(void)
{
	unsigned int r;

	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		return 0.5;
	return (double)r / 4294967296.0;
}

static const char *target_url(const struct lqos_config *cfg, const char *target)
{
	return strcmp(target, LQOS_TARGET_WEBHOOK) == 0 ? cfg->webhook_url
							: cfg->central_telemetry_url;
}

static void gone_key(const char *target, char *key, size_t len)
{
	snprintf(key, len, "gone:%s", target);
}

/* A URL that answered 410 gets nothing more until the config names
 * another URL. */
static bool target_is_gone(struct lqos_db *db, const char *target, const char *url)
{
	char key[64];
	char *gone;
	bool same;

	gone_key(target, key, sizeof(key));
	gone = lqos_store_meta_get(db, key);
	same = gone != NULL && strcmp(gone, url) == 0;
	free(gone);
	return same;
}

static void mark_gone(struct lqos_db *db, const char *target, const char *url)
{
	char key[64];

	gone_key(target, key, sizeof(key));
	lqos_store_meta_set(db, key, url);
}

/* A delivery waiting to be recorded with the rest of its batch. */
struct delivered {
	long long id;
	long at;
	long http_status;
};

/* Record a batch's deliveries in one write transaction: under a burst of
 * submissions the flusher then queues for the write lock once per batch,
 * not once per event. Not recorded (the transaction failed): the lease
 * runs out and the events go again (at least once, as after a crash). */
static void record_delivered(struct lqos_db *db, const struct delivered *done, int n)
{
	char why[512];
	bool ok;

	if (n == 0)
		return;
	ok = db->ops->txn.begin(db) == 0;
	for (int i = 0; ok && i < n; i++)
		ok = lqos_outbox_delivered(db, done[i].id, done[i].at, done[i].http_status) == 0;
	if (ok && db->ops->txn.commit(db) == 0)
		return;
	lqos_store_describe(db, "recording deliveries", why, sizeof(why));
	lqos_log("Webhook flusher: cannot record %d deliveries: %s (they will be sent again)", n,
		 why);
	db->ops->txn.rollback(db);
}

/* One attempt. A success is added to `done` (recorded by the caller
 * with its batch); a failure is recorded at once. */
static void deliver_one(struct lqos_db *db, const struct lqos_config *cfg,
			const struct lqos_flush_options *opt, struct lqos_outbox_event *ev,
			struct lqos_flush_report *report, struct delivered *done, int *ndone)
{
	const char *url = target_url(cfg, ev->target);
	bool is_webhook = strcmp(ev->target, LQOS_TARGET_WEBHOOK) == 0;
	struct lqos_webhook_attempt at;
	struct lqos_webhook_request req = {
		.url = url,
		.event_id = ev->event_id,
		.body = ev->payload,
		.body_len = strlen(ev->payload),
		.secret = is_webhook ? cfg->webhook_secret : NULL,
		.now = clock_now(opt),
		.connect_timeout = cfg->webhook_connect_timeout,
		.total_timeout = cfg->webhook_timeout,
	};
	long now, next_at;
	bool give_up;
	char redacted[1024];

	if (lqos_webhook_post(&req, &at) == 0) {
		done[*ndone].id = ev->id;
		done[*ndone].at = clock_now(opt);
		done[*ndone].http_status = at.http_status;
		(*ndone)++;
		report->delivered++;
		return;
	}
	now = clock_now(opt);
	lqos_url_redact(url, redacted, sizeof(redacted));
	lqos_log("Webhook delivery failed: %s %s to %s (attempt %ld): %s",
		 is_webhook ? "test_id" : "central event", ev->event_id, redacted, ev->attempts + 1,
		 at.error);
	if (at.http_status == 410) {
		mark_gone(db, ev->target, url);
		lqos_log("Webhook delivery stopped: %s answered 410 Gone; events are kept and "
			 "will go to the next URL configured",
			 redacted);
		lqos_outbox_failed(db, ev->id, now, at.http_status, at.error, now, false);
		report->failed++;
		return;
	}
	if ((at.http_status == 429 || at.http_status == 503) && at.retry_after > 0)
		next_at = now + (at.retry_after < 3600 ? at.retry_after : 3600);
	else
		next_at = now + lqos_outbox_backoff(ev->attempts + 1, jitter());
	give_up = now - ev->created_at >= cfg->webhook_max_age_hours * 3600L;
	if (lqos_outbox_failed(db, ev->id, now, at.http_status, at.error, next_at, give_up) == 0) {
		if (give_up) {
			lqos_log("Webhook delivery failed: %s %s given up after %ld attempts over "
				 "%ld "
				 "hours; kept in the outbox as failed",
				 is_webhook ? "test_id" : "central event", ev->event_id,
				 ev->attempts + 1, cfg->webhook_max_age_hours);
			report->gave_up++;
		} else {
			report->failed++;
		}
	}
}

/* The targets with a URL that has not answered 410, NULL-terminated.
 * Returns how many. */
static size_t active_targets(struct lqos_db *db, const struct lqos_config *cfg,
			     const char *targets[3])
{
	size_t nt = 0;

	if (cfg->webhook_url && !target_is_gone(db, LQOS_TARGET_WEBHOOK, cfg->webhook_url))
		targets[nt++] = LQOS_TARGET_WEBHOOK;
	if (cfg->central_telemetry_url &&
	    !target_is_gone(db, LQOS_TARGET_CENTRAL, cfg->central_telemetry_url))
		targets[nt++] = LQOS_TARGET_CENTRAL;
	targets[nt] = NULL;
	return nt;
}

/* 1 when an event is due for one of `targets`, 0 when none is, -1 when
 * the outbox could not be read. */
static int has_due(struct lqos_db *db, long now, const char *const *targets)
{
	struct lqos_param p[3];
	long long one = 0;
	int rc;

	if (targets[0] == NULL)
		return 0;
	p[0] = lqos_p_int(now);
	p[1] = lqos_p_text(targets[0]);
	p[2] = lqos_p_text(targets[1] ? targets[1] : targets[0]);
	rc = lqos_db_long(db,
			  "SELECT 1 FROM webhook_outbox WHERE state = 'pending' AND "
			  "next_attempt_at <= ?1 AND lease_until <= ?1 AND target IN (?2, ?3) "
			  "LIMIT 1",
			  p, 3, &one);
	return rc == 0 ? 1 : rc == 1 ? 0 : -1;
}

struct flush_run {
	struct lqos_db *db;
	const struct lqos_config *cfg;
	const struct lqos_flush_options *opt;
	struct lqos_flush_report *report;
	long started, budget, lease;
};

/* Room for one more attempt within the budget? */
static bool attempt_fits(const struct flush_run *run)
{
	return monotonic_seconds() - run->started + run->cfg->webhook_timeout +
		       run->cfg->webhook_connect_timeout <=
	       run->budget;
}

/* Claim and deliver until nothing is due. Returns 0, or -1 when the
 * outbox cannot be read. */
static int drain(struct flush_run *run)
{
	struct lqos_outbox_event events[CLAIM_BATCH];
	struct delivered done[CLAIM_BATCH];
	const char *targets[3];
	int n, ndone;

	for (;;) {
		if (active_targets(run->db, run->cfg, targets) == 0)
			return 0;
		/* Stop taking work while one more attempt still fits the budget. */
		if (!attempt_fits(run))
			return 0;
		n = lqos_outbox_claim(run->db, clock_now(run->opt), run->lease, targets, events,
				      CLAIM_BATCH);
		if (n < 0) {
			char why[512];
			lqos_store_describe(run->db, "claiming events", why, sizeof(why));
			lqos_log("Webhook flusher: cannot claim events: %s", why);
			return -1;
		}
		if (n == 0)
			return 0;
		ndone = 0;
		for (int i = 0; i < n; i++) {
			/* A URL that went 410 during this batch, or no time left:
			 * hand the rest back untouched. */
			if (!attempt_fits(run) ||
			    target_is_gone(run->db, events[i].target,
					   target_url(run->cfg, events[i].target)))
				lqos_outbox_release(run->db, events[i].id, clock_now(run->opt));
			else
				deliver_one(run->db, run->cfg, run->opt, &events[i], run->report,
					    done, &ndone);
			lqos_outbox_event_free(&events[i]);
		}
		record_delivered(run->db, done, ndone);
	}
}

#define LINGER_POLL_MS 50

/* Has the operator edited the configuration since this run read it? */
static bool config_changed(const struct lqos_flush_options *opt)
{
	const struct stat *was = &opt->config_st;
	struct stat st;

	if (opt->config_path == NULL)
		return false;
	if (stat(opt->config_path, &st) != 0)
		return true;
	return st.st_ino != was->st_ino || st.st_size != was->st_size ||
	       st.st_mtim.tv_sec != was->st_mtim.tv_sec ||
	       st.st_mtim.tv_nsec != was->st_mtim.tv_nsec;
}

/* The queue is empty and this run holds the lock, so submissions start no
 * flusher of their own: wait up to linger_ms for their events. 1 when an
 * event became due, else 0 (lingered out, budget spent, or unreadable). */
static int linger(struct flush_run *run)
{
	const char *targets[3];

	for (long waited = 0; waited < run->opt->linger_ms; waited += LINGER_POLL_MS) {
		usleep(LINGER_POLL_MS * 1000);
		if (config_changed(run->opt) || !attempt_fits(run) ||
		    active_targets(run->db, run->cfg, targets) == 0)
			return 0;
		if (has_due(run->db, clock_now(run->opt), targets) == 1)
			return 1;
	}
	return 0;
}

int lqos_flush_run(const struct lqos_config *cfg, const struct lqos_flush_options *opt,
		   struct lqos_flush_report *report)
{
	struct flush_run run = {
		.cfg = cfg,
		.opt = opt,
		.report = report,
		.started = monotonic_seconds(),
		.budget = opt->budget_seconds > 0 ? opt->budget_seconds : 45,
		.lease = cfg->webhook_connect_timeout + cfg->webhook_timeout + 30,
	};
	const char *targets[3];
	char why[512];
	int lock_fd = opt->held_lock_fd > STDERR_FILENO ? opt->held_lock_fd : -1;
	int rc = -1;

	memset(report, 0, sizeof(*report));
	run.db = lqos_store_connect(cfg, why, sizeof(why));
	if (run.db == NULL) {
		lqos_log("Webhook flusher: %s", why);
		if (lock_fd >= 0)
			close(lock_fd);
		return -1;
	}
	if (lock_fd < 0)
		lock_fd = take_lock(cfg->database_path, opt->lock_wait_ms);
	/* On PostgreSQL the row leases keep flushers apart (on this server
	 * and on the others); the local lock only saves work, so a server
	 * whose database_path folder cannot be made runs without it. */
	if (lock_fd == -2 && cfg->database_url != NULL)
		lock_fd = -3;
	if (lock_fd < 0 && lock_fd != -3) {
		report->locked_out = lock_fd == -1;
		lqos_store_close(run.db);
		return lock_fd == -1 ? 0 : -1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (int unread = 0;;) {
		int due;

		if (drain(&run) != 0)
			goto out;
		if (lock_fd >= 0 && opt->linger_ms > 0 && linger(&run))
			continue;
		/* A submission that found the lock held started no flusher: its
		 * events were committed before it tried the lock, so they are
		 * visible here, after the lock is released. */
		if (lock_fd >= 0)
			close(lock_fd);
		lock_fd = -1;
		/* Edited meanwhile: a run that reads the new file takes over. */
		if (config_changed(opt)) {
			lqos_spawn_flusher(cfg->database_path);
			break;
		}
		if (!attempt_fits(&run) || active_targets(run.db, cfg, targets) == 0)
			break;
		/* A failed read (busy, a dropped connection) is not "nothing
		 * due": look again, a few times, rather than leave the events
		 * that may have arrived to cron. */
		due = has_due(run.db, clock_now(opt), targets);
		if (due == 0 || (due < 0 && ++unread > 3))
			break;
		/* Held again: a flusher started since then delivers them. */
		lock_fd = take_lock(cfg->database_path, 0);
		if (lock_fd == -2 && cfg->database_url != NULL)
			lock_fd = -3; /* PostgreSQL without the lock's directory */
		if (lock_fd < 0 && lock_fd != -3)
			break;
	}
	rc = 0;
out:
	if (!opt->quiet && (report->delivered || report->failed || report->gave_up))
		lqos_log("Webhook flusher: %ld delivered, %ld failed attempts, %ld given up",
			 report->delivered, report->failed, report->gave_up);
	lqos_webhook_post_done();
	curl_global_cleanup();
	lqos_store_close(run.db);
	if (lock_fd >= 0)
		close(lock_fd);
	return rc;
}

static void print_target(FILE *out, json_t *t, const char *name, const char *url, bool signed_)
{
	char redacted[1024];
	json_t *age = json_object_get(t, "oldest_pending_age_seconds");
	json_t *err = json_object_get(t, "last_error");
	json_t *last = json_object_get(t, "last_delivery_at");

	if (url) {
		lqos_url_redact(url, redacted, sizeof(redacted));
		fprintf(out, "%s: %s%s\n", name, redacted, signed_ ? " (signed)" : "");
	} else {
		fprintf(out, "%s: not configured\n", name);
	}
	fprintf(out, "  pending %lld",
		(long long)json_integer_value(json_object_get(t, "pending")));
	if (json_is_integer(age))
		fprintf(out, " (oldest %lld s)", (long long)json_integer_value(age));
	fprintf(out, ", delivered %lld, failed %lld\n",
		(long long)json_integer_value(json_object_get(t, "delivered")),
		(long long)json_integer_value(json_object_get(t, "failed")));
	if (json_is_integer(last)) {
		time_t when = (time_t)json_integer_value(last);
		char buf[64];
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", gmtime(&when));
		fprintf(out, "  last delivery %s\n", buf);
	}
	if (json_is_string(err))
		fprintf(out, "  last error: %s (%s)\n", json_string_value(err),
			json_string_value(json_object_get(t, "last_error_event")));
}

int lqos_flush_status(const struct lqos_config *cfg, FILE *out)
{
	char why[512];
	struct lqos_db *db = lqos_store_connect(cfg, why, sizeof(why));
	json_t *obj;

	if (db == NULL) {
		fprintf(out, "database: %s\n", why);
		return -1;
	}
	obj = json_object();
	lqos_outbox_stats(db, (long)time(NULL), obj);
	if (cfg->database_url != NULL) {
		char url[1024];
		lqos_url_redact(cfg->database_url, url, sizeof(url));
		fprintf(out, "database: PostgreSQL %s\n", url);
	} else {
		fprintf(out, "database: %s\n", cfg->database_path);
	}
	print_target(out, json_object_get(obj, LQOS_TARGET_WEBHOOK), "webhook", cfg->webhook_url,
		     cfg->webhook_secret != NULL);
	if (cfg->webhook_url && target_is_gone(db, LQOS_TARGET_WEBHOOK, cfg->webhook_url))
		fprintf(out,
			"  STOPPED: this URL answered 410 Gone; change webhook_url to resume\n");
	print_target(out, json_object_get(obj, LQOS_TARGET_CENTRAL), "central",
		     cfg->central_telemetry_url, false);
	json_decref(obj);
	lqos_store_close(db);
	return 0;
}
