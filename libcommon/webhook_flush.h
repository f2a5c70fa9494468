/* The webhook flusher: lock, claim due events, deliver each outside any
 * transaction, record each outcome. Used by lqos-webhook-flush (cron)
 * and by the submission for prompt delivery. */
#ifndef LQOS_WEBHOOK_FLUSH_H
#define LQOS_WEBHOOK_FLUSH_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>

#include "config.h"

struct lqos_flush_options {
	long now; /* 0: the real clock; else a fixed "now" (tests) */
	long budget_seconds; /* take no new work after this long (default 45) */
	long lock_wait_ms; /* wait this long for another flusher's lock */
	int held_lock_fd; /* > 2: the lock, already taken (--lock-fd); else take it */
	long linger_ms; /* with the lock held: wait this long for new events before exiting */
	const char *config_path; /* with linger_ms: the file read, watched for edits */
	struct stat config_st; /* its stat when read */
	bool quiet; /* no summary line */
};

struct lqos_flush_report {
	long delivered;
	long failed; /* failed attempts (will retry) */
	long gave_up; /* events marked failed for good */
	bool locked_out; /* another flusher holds the lock */
};

/* One run: drain the due events; after letting go of the lock, look
 * once more and run again (lock permitting) when events arrived in the
 * meantime, so a submission that found the lock held is never left for
 * cron. With linger_ms, a run that holds the lock waits that long after
 * the queue empties, looking every 50 ms, so a stream of submissions is
 * served by one process rather than one started every few submissions;
 * an edit of config_path ends the wait and hands over to a new run, so
 * events never go to a URL the operator has just replaced.
 * Returns 0 when the run completed (even if deliveries failed),
 * -1 when the database or lock could not be used (message on stderr). */
int lqos_flush_run(const struct lqos_config *cfg, const struct lqos_flush_options *opt,
		   struct lqos_flush_report *report);

/* Print the queue state for operators to `out`. Returns 0 or -1. */
int lqos_flush_status(const struct lqos_config *cfg, FILE *out);

#endif
