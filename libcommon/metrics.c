#include "metrics.h"

#include <string.h>
#include <time.h>

#include "store_backend.h"
#include "webhook_outbox.h"

/* Label values here are grades, test types and targets: fixed sets with
 * no quotes or backslashes, so no escaping is needed. */

static int stored_by_type_and_grade(FILE *out, struct lqos_db *db)
{
	struct lqos_cursor *c;
	int rc;

	fputs("# HELP lqos_tests_stored Test results stored now, by test type and overall grade.\n"
	      "# TYPE lqos_tests_stored gauge\n",
	      out);
	c = lqos_db_query(db,
			  "SELECT coalesce(test_type, 'unknown'), "
			  "coalesce(overall_grade, 'none'), count(*) FROM test_results "
			  "GROUP BY 1, 2 ORDER BY 1, 2",
			  NULL, 0);
	if (c == NULL)
		return -1;
	while ((rc = lqos_cursor_next(c)) == 1) {
		const char *type = lqos_cursor_text(c, 0, NULL);
		const char *grade = lqos_cursor_text(c, 1, NULL);
		if (strcmp(type, "single_user") != 0 && strcmp(type, "virtual_household") != 0)
			type = "unknown";
		if (strspn(grade, "ABCDF+") != strlen(grade) || strlen(grade) > 2)
			grade = "none";
		fprintf(out, "lqos_tests_stored{test_type=\"%s\",grade=\"%s\"} %lld\n", type, grade,
			lqos_cursor_int(c, 2));
	}
	lqos_cursor_free(c);
	return rc == 0 ? 0 : -1;
}

static long long scalar(struct lqos_db *db, const char *sql, int *ok)
{
	long long v = 0;

	if (lqos_db_long(db, sql, NULL, 0, &v) < 0)
		*ok = 0;
	return v;
}

static long long last_test_unix(struct lqos_db *db, int *ok)
{
	struct lqos_cursor *c;
	long long t = -1;

	c = lqos_db_query(db, "SELECT timestamp FROM test_results ORDER BY id DESC LIMIT 1", NULL,
			  0);
	if (c == NULL) {
		*ok = 0;
		return -1;
	}
	if (lqos_cursor_next(c) == 1 && lqos_cursor_type(c, 0) == LQOS_VAL_TEXT) {
		struct tm tm = {0};
		if (sscanf(lqos_cursor_text(c, 0, NULL), "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year,
			   &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) == 6) {
			tm.tm_year -= 1900;
			tm.tm_mon -= 1;
			t = (long long)timegm(&tm);
		}
	}
	lqos_cursor_free(c);
	return t;
}

int lqos_metrics_write(FILE *out, struct lqos_db *db, const struct lqos_config *cfg, long now)
{
	static const char *const targets[] = {"webhook", "central"};
	static const char *const states[] = {"pending", "delivered", "failed"};
	int ok = 1;
	long long last;
	json_t *queue;

	if (stored_by_type_and_grade(out, db) != 0)
		return -1;
	fprintf(out,
		"# HELP lqos_submissions_total Results accepted since the database was created "
		"(the highest result id).\n# TYPE lqos_submissions_total counter\n"
		"lqos_submissions_total %lld\n",
		scalar(db, "SELECT coalesce(max(id), 0) FROM test_results", &ok));
	fprintf(out,
		"# HELP lqos_unique_client_ips Distinct client addresses among stored results.\n"
		"# TYPE lqos_unique_client_ips gauge\nlqos_unique_client_ips %lld\n",
		scalar(db, "SELECT count(DISTINCT client_ip) FROM test_results", &ok));
	fprintf(out,
		"# HELP lqos_max_stored_tests Results kept at most (max_stored_tests).\n"
		"# TYPE lqos_max_stored_tests gauge\nlqos_max_stored_tests %ld\n",
		cfg->max_stored_tests);
	last = last_test_unix(db, &ok);
	fputs("# HELP lqos_last_test_age_seconds Seconds since the newest stored result.\n"
	      "# TYPE lqos_last_test_age_seconds gauge\n",
	      out);
	if (last >= 0)
		fprintf(out, "lqos_last_test_age_seconds %lld\n", (long long)now - last);
	queue = json_object();
	if (lqos_outbox_stats(db, now, queue) != 0)
		ok = 0;
	fputs("# HELP lqos_webhook_events Events in the webhook outbox by target and state.\n"
	      "# TYPE lqos_webhook_events gauge\n",
	      out);
	for (int t = 0; t < 2; t++)
		for (int s = 0; s < 3; s++)
			fprintf(out, "lqos_webhook_events{target=\"%s\",state=\"%s\"} %lld\n",
				targets[t], states[s],
				(long long)json_integer_value(json_object_get(
					json_object_get(queue, targets[t]), states[s])));
	fputs("# HELP lqos_webhook_oldest_pending_age_seconds Age of the oldest undelivered "
	      "event.\n"
	      "# TYPE lqos_webhook_oldest_pending_age_seconds gauge\n",
	      out);
	for (int t = 0; t < 2; t++)
		fprintf(out, "lqos_webhook_oldest_pending_age_seconds{target=\"%s\"} %lld\n",
			targets[t],
			(long long)json_integer_value(json_object_get(
				json_object_get(queue, targets[t]), "oldest_pending_age_seconds")));
	json_decref(queue);
	fprintf(out,
		"# HELP lqos_webhook_enabled 1 when webhook_url is configured.\n"
		"# TYPE lqos_webhook_enabled gauge\nlqos_webhook_enabled %d\n",
		cfg->webhook_url != NULL);
	return ok ? 0 : -1;
}
