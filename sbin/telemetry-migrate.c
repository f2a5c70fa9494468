/* lqos-telemetry-migrate: copy an SQLite telemetry database (its tests
 * and its undelivered outbox events) into PostgreSQL. Idempotent: tests
 * are matched by test_id and events by (target, event_id), so a second
 * run copies nothing twice. See lqos-telemetry-migrate(8). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libcommon/config.h"
#include "libcommon/log.h"
#include "libcommon/store.h"
#include "libcommon/store_backend.h"

#define TEST_COLS                                                                                  \
	"test_id, timestamp, client_ip, user_agent, test_type, download_mbps, upload_mbps, "       \
	"baseline_latency_ms, download_latency_increase_ms, upload_latency_increase_ms, "          \
	"bidirectional_latency_increase_ms, single_user_score, download_grade, upload_grade, "     \
	"bidirectional_grade, overall_grade, household_score, alex_grade, sarah_grade, "           \
	"jake_grade, computer_grade, test_server_name, test_duration_seconds, details_json, "      \
	"client_ip_bin"
#define N_TEST_COLS 25

#define EVENT_COLS                                                                                 \
	"event_id, target, url, payload, created_at, state, attempts, next_attempt_at, "           \
	"last_attempt_at, last_status, last_error"
#define N_EVENT_COLS 11

/* The current row's cells as parameters (valid until the next row). */
static void row_params(struct lqos_cursor *c, struct lqos_param *p, int n)
{
	for (int i = 0; i < n; i++) {
		size_t len = 0;
		const char *t;
		switch (lqos_cursor_type(c, i)) {
		case LQOS_VAL_INT: p[i] = lqos_p_int(lqos_cursor_int(c, i)); break;
		case LQOS_VAL_REAL: p[i] = lqos_p_real(lqos_cursor_real(c, i)); break;
		case LQOS_VAL_TEXT: p[i] = lqos_p_text(lqos_cursor_text(c, i, NULL)); break;
		case LQOS_VAL_BLOB:
			t = lqos_cursor_text(c, i, &len);
			p[i] = lqos_p_blob(t, len);
			break;
		default: p[i] = lqos_p_null();
		}
	}
}

/* Copy the rows `select` returns from `from` with `insert` (whose
 * parameters are the row's columns, then the target's next id when
 * `with_id`); counts rows read and rows written. */
static int copy_rows(struct lqos_db *from, struct lqos_db *to, const char *select,
		     const char *insert, int ncols, long *read, long *written, char *why,
		     size_t whylen)
{
	struct lqos_cursor *c = lqos_db_query(from, select, NULL, 0);
	struct lqos_param p[32];
	int rc;

	if (c == NULL) {
		lqos_store_describe(from, "reading the SQLite database", why, whylen);
		return -1;
	}
	while ((rc = lqos_cursor_next(c)) == 1) {
		long long changed = 0;
		row_params(c, p, ncols);
		if (lqos_db_exec(to, insert, p, ncols, &changed) != 0) {
			lqos_store_describe(to, "copying", why, whylen);
			lqos_cursor_free(c);
			return -1;
		}
		(*read)++;
		*written += changed > 0;
	}
	lqos_cursor_free(c);
	if (rc < 0) {
		lqos_store_describe(from, "reading the SQLite database", why, whylen);
		return -1;
	}
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: lqos-telemetry-migrate [--from SQLITE_FILE] [--config FILE] --to "
		     "DATABASE_URL\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"from", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 't'},
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *conf_path = lqos_config_default_path(), *from_path = NULL, *to_url = NULL;
	long tests_read = 0, tests_new = 0, events_read = 0, events_new = 0;
	struct lqos_db *from = NULL, *to = NULL;
	struct lqos_config cfg;
	char why[1024], where[1024];
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "f:t:c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': from_path = optarg; break;
		case 't': to_url = optarg; break;
		case 'c': conf_path = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (to_url == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (lqos_config_load(&cfg, conf_path) != 0 && from_path == NULL) {
		fprintf(stderr, "lqos-telemetry-migrate: %s (or pass --from)\n", cfg.error);
		return 1;
	}
	if (from_path == NULL)
		from_path = cfg.database_path;
	from = lqos_store_open(from_path, why, sizeof(why));
	if (from == NULL) {
		fprintf(stderr, "lqos-telemetry-migrate: %s\n", why);
		goto out;
	}
	to = lqos_store_open_pg(to_url, why, sizeof(why));
	if (to == NULL) {
		fprintf(stderr, "lqos-telemetry-migrate: %s\n", why);
		goto out;
	}
	lqos_url_redact(to_url, where, sizeof(where));
	/* One transaction: all or nothing. Oldest first so the new ids keep
	 * the order (retention removes the lowest ids first). */
	if (lqos_db_exec(to, "BEGIN", NULL, 0, NULL) != 0 ||
	    copy_rows(from, to, "SELECT " TEST_COLS " FROM test_results ORDER BY id",
		      "INSERT INTO test_results (id, " TEST_COLS ") VALUES "
		      "(nextval('test_results_id_seq'), ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
		      "?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25) "
		      "ON CONFLICT (test_id) DO NOTHING",
		      N_TEST_COLS, &tests_read, &tests_new, why, sizeof(why)) != 0 ||
	    copy_rows(from, to,
		      "SELECT " EVENT_COLS
		      " FROM webhook_outbox WHERE state = 'pending' ORDER BY id",
		      "INSERT INTO webhook_outbox (" EVENT_COLS ") VALUES "
		      "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
		      "ON CONFLICT (target, event_id) DO NOTHING",
		      N_EVENT_COLS, &events_read, &events_new, why, sizeof(why)) != 0 ||
	    lqos_db_exec(to, "COMMIT", NULL, 0, NULL) != 0) {
		if (why[0] == '\0')
			lqos_store_describe(to, "committing", why, sizeof(why));
		lqos_db_exec(to, "ROLLBACK", NULL, 0, NULL);
		fprintf(stderr, "lqos-telemetry-migrate: nothing copied: %s\n", why);
		goto out;
	}
	printf("from %s to PostgreSQL %s\n", from_path, where);
	printf("tests: %ld read, %ld copied, %ld already there\n", tests_read, tests_new,
	       tests_read - tests_new);
	printf("undelivered events: %ld read, %ld copied, %ld already there\n", events_read,
	       events_new, events_read - events_new);
	rc = 0;
out:
	lqos_store_close(from);
	lqos_store_close(to);
	lqos_config_free(&cfg);
	return rc;
}
