/* The SQLite store: schema and migrations (including a database made by
 * the original implementation), ids, retention, the per-IP limit, the
 * support API queries, and failures an operator must be able to act on. */
#include <limits.h>
#include <regex.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "libcommon/store_sqlite.h"

#include "libcommon/migrations.h"
#include "libcommon/query.h"
#include "libcommon/result.h"
#include "libcommon/store.h"
#include "testfs.h"
#include "testutil.h"

static char dir[LQOS_TEST_DIRLEN];
static char dbpath[PATH_MAX];
static struct lqos_db *db;
#define RAW (db_raw != NULL ? db_raw : lqos_store_sqlite(db))
static sqlite3 *db_raw; /* make_original_database: SQLite itself */
static struct lqos_result single, household;
static char why[512];

static void parse_fixture(const char *name, struct lqos_result *out)
{
	size_t len;
	char *text = lqos_test_fixture(name, &len);

	ck_assert_msg(lqos_result_parse(text, len, out, why, sizeof(why)) == 0, "%s: %s", name,
		      why);
	free(text);
	lqos_result_grade(out);
}

static void setup(void)
{
	lqos_test_mkdtemp(dir);
	snprintf(dbpath, sizeof(dbpath), "%s/state/sub/isp_telemetry.db", dir);
	db = NULL;
	why[0] = '\0';
	parse_fixture("native_single.json", &single);
	parse_fixture("native_household.json", &household);
}

static void teardown(void)
{
	if (db != NULL)
		lqos_store_close(db);
	db = NULL;
	lqos_test_rmtree(dir);
}

static void open_db(void)
{
	db = lqos_store_open(dbpath, why, sizeof(why));
	ck_assert_msg(db != NULL, "open %s: %s", dbpath, why);
}

static int latest_version(void)
{
	return lqos_migrations[lqos_migrations_count - 1].version;
}

static long query_long(const char *sql)
{
	sqlite3_stmt *st;
	long v = -1;

	ck_assert_msg(sqlite3_prepare_v2(RAW, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(RAW));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The text of the first column of the first row (static buffer). */
static const char *query_text(const char *sql)
{
	static char buf[512];
	sqlite3_stmt *st;

	buf[0] = '\0';
	ck_assert_msg(sqlite3_prepare_v2(RAW, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(RAW));
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
		snprintf(buf, sizeof(buf), "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return buf;
}

static void exec(const char *sql)
{
	char *err = NULL;

	ck_assert_msg(sqlite3_exec(RAW, sql, NULL, NULL, &err) == SQLITE_OK, "%s: %s", sql,
		      err ? err : "");
}

struct inserted {
	enum lqos_store_status status;
	char test_id[LQOS_TEST_ID_LEN];
	char timestamp[LQOS_TIMESTAMP_LEN];
	long retry_after;
};

static struct inserted insert_full(const struct lqos_result *res, const char *ip, long max_stored,
				   long per_ip)
{
	struct lqos_store_insert_args a = {0};
	struct inserted out;

	memset(&out, 0, sizeof(out));
	out.retry_after = -1;
	a.result = res;
	a.client_ip = ip;
	a.user_agent = "Mozilla/5.0 (check_store)";
	a.server_name = "fallback-server";
	a.max_stored_tests = max_stored;
	a.max_per_ip_per_hour = per_ip;
	why[0] = '\0';
	out.status = lqos_store_insert(db, &a, out.test_id, out.timestamp, &out.retry_after, why,
				       sizeof(why));
	return out;
}

/* The support API's queries without filters: every client, or one. */
static json_t *recent_rows(struct lqos_db *d, long limit, char *w, size_t wlen)
{
	struct lqos_filter all = {0};
	long total;

	return lqos_query_tests(d, &all, limit, &total, w, wlen);
}

static json_t *customer_rows(struct lqos_db *d, const char *client_ip, long limit, long *total,
			     char *w, size_t wlen)
{
	struct lqos_filter one = {0};
	char canonical[LQOS_IP_STRLEN + 8];

	ck_assert_int_eq(lqos_filter_set_prefix(&one, client_ip, canonical, sizeof(canonical)), 0);
	return lqos_query_tests(d, &one, limit, total, w, wlen);
}

static struct inserted insert_ok(const char *ip)
{
	struct inserted r = insert_full(&single, ip, 1000, 0);

	ck_assert_msg(r.status == LQOS_STORE_OK, "insert failed: %s", why);
	return r;
}

static int matches(const char *pattern, const char *text)
{
	regex_t re;
	int ok;

	ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	ok = regexec(&re, text, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

static void iso_at(time_t t, char out[LQOS_TIMESTAMP_LEN])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, LQOS_TIMESTAMP_LEN, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

/* A row the way an earlier request (or the original program) left it. */
static void insert_raw(long id, const char *ip, const char *timestamp)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
		 "INSERT INTO test_results (id, test_id, timestamp, client_ip, test_type, "
		 "overall_grade) VALUES (%ld, 'isp_raw_%ld', '%s', '%s', 'single_user', 'B')",
		 id, id, timestamp, ip);
	exec(sql);
}

/* ------------------------------------------------------------ schema */

START_TEST(open_creates_everything)
{
	struct stat st;

	open_db();
	ck_assert_int_eq(stat(dbpath, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_str_eq(query_text("PRAGMA journal_mode"), "wal");
	ck_assert_int_eq(query_long("PRAGMA user_version"), latest_version());
	ck_assert_int_ge(latest_version(), 2);
	ck_assert_int_eq(query_long("SELECT count(*) FROM test_results"), 0);
	ck_assert_int_eq(query_long("SELECT count(*) FROM sqlite_master WHERE name = 'meta'"), 1);
}
END_TEST

/* Another process holds the write lock: a writer waits for it (the busy
 * handler) and gets it once released, instead of failing at once. */
START_TEST(writer_waits_for_lock)
{
	int ready[2], status;
	char c;
	pid_t pid;
	struct timespec t0, t1;
	long ms;

	ck_assert_int_eq(pipe(ready), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* The child opens its own connection (none may cross fork). */
		struct lqos_db *other = lqos_store_open(dbpath, why, sizeof(why));
		if (other == NULL ||
		    sqlite3_exec(lqos_store_sqlite(other), "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
			    SQLITE_OK ||
		    write(ready[1], "x", 1) != 1)
			_exit(1);
		usleep(300 * 1000);
		sqlite3_exec(lqos_store_sqlite(other), "COMMIT", NULL, NULL, NULL);
		lqos_store_close(other);
		_exit(0);
	}
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	open_db();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(sqlite3_exec(RAW, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	exec("COMMIT");
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ck_assert_int_ge(ms, 150);
	ck_assert_int_lt(ms, 5000);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(ready[0]);
	close(ready[1]);
}
END_TEST

START_TEST(schema_has_guide_columns)
{
	static const char *const guide[] = {
		"id",
		"timestamp",
		"client_ip",
		"user_agent",
		"test_type",
		"download_mbps",
		"upload_mbps",
		"baseline_latency_ms",
		"download_latency_increase_ms",
		"upload_latency_increase_ms",
		"bidirectional_latency_increase_ms",
		"single_user_score",
		"download_grade",
		"upload_grade",
		"bidirectional_grade",
		"overall_grade",
		"household_score",
		"alex_grade",
		"sarah_grade",
		"jake_grade",
		"computer_grade",
		"test_server_name",
		"test_id",
		"test_duration_seconds",
	};
	static const char *const types[] = {
		"INTEGER", "DATETIME", "TEXT", "TEXT",    "TEXT", "REAL", "REAL", "REAL",
		"REAL",    "REAL",     "REAL", "INTEGER", "TEXT", "TEXT", "TEXT", "TEXT",
		"INTEGER", "TEXT",     "TEXT", "TEXT",    "TEXT", "TEXT", "TEXT", "REAL",
	};
	char sql[256];

	open_db();
	for (size_t i = 0; i < sizeof(guide) / sizeof(guide[0]); i++) {
		snprintf(sql, sizeof(sql),
			 "SELECT type FROM pragma_table_info('test_results') WHERE name = '%s'",
			 guide[i]);
		ck_assert_msg(strcmp(query_text(sql), types[i]) == 0, "column %s: type '%s'",
			      guide[i], query_text(sql));
	}
	/* indexes behind the customer lookup, the rate limit and ordering */
	ck_assert_int_ge(query_long("SELECT count(*) FROM pragma_index_list('test_results') l "
				    "JOIN pragma_index_info(l.name) i WHERE i.seqno = 0 AND "
				    "i.name = 'client_ip'"),
			 1);
	ck_assert_int_ge(query_long("SELECT count(*) FROM pragma_index_list('test_results') l "
				    "JOIN pragma_index_info(l.name) i WHERE i.seqno = 0 AND "
				    "i.name = 'timestamp'"),
			 1);
	/* test_id is unique, enforced by the database */
	insert_raw(1, "192.0.2.1", "2025-01-01T00:00:00.000Z");
	ck_assert_int_ne(sqlite3_exec(RAW,
				      "INSERT INTO test_results (id, test_id) "
				      "VALUES (2, 'isp_raw_1')",
				      NULL, NULL, NULL),
			 SQLITE_OK);
}
END_TEST

START_TEST(reopen_is_harmless)
{
	open_db();
	insert_ok("192.0.2.1");
	lqos_store_close(db);
	open_db();
	ck_assert_int_eq(query_long("PRAGMA user_version"), latest_version());
	ck_assert_int_eq(query_long("SELECT count(*) FROM test_results"), 1);
	insert_ok("192.0.2.1");
	ck_assert_int_eq(query_long("SELECT count(*) FROM test_results"), 2);
}
END_TEST

START_TEST(relative_path_refused)
{
	ck_assert_ptr_null(lqos_store_open("relative/isp_telemetry.db", why, sizeof(why)));
	ck_assert_msg(strstr(why, "absolute") != NULL, "why: %s", why);
	ck_assert_ptr_null(lqos_store_open("", why, sizeof(why)));
	ck_assert_ptr_null(lqos_store_open(NULL, why, sizeof(why)));
}
END_TEST

/* ------------------------------------------------------------ insert */

/* Each CGI request opens, inserts and closes alone: the WAL is
 * checkpointed and reused in place, so its file stays about the
 * checkpoint size (256 KiB) however many submissions arrive, and no row
 * is lost on the way. */
START_TEST(wal_reused_not_grown)
{
	char wal[PATH_MAX + 8];
	struct stat st;
	off_t largest = 0;

	snprintf(wal, sizeof(wal), "%s-wal", dbpath);
	for (int i = 0; i < 200; i++) {
		open_db();
		ck_assert_int_eq(insert_ok("192.0.2.9").status, LQOS_STORE_OK);
		lqos_store_close(db);
		db = NULL;
		ck_assert_int_eq(stat(wal, &st), 0);
		if (st.st_size > largest)
			largest = st.st_size;
	}
	ck_assert_msg(largest < 512 * 1024, "WAL grew to %lld bytes", (long long)largest);
	open_db();
	ck_assert_int_eq(query_long("SELECT count(*) FROM test_results"), 200);
	ck_assert_int_eq(query_long("PRAGMA user_version"), latest_version());
	ck_assert_str_eq(query_text("PRAGMA integrity_check"), "ok");
}
END_TEST

START_TEST(insert_ids_and_timestamps)
{
	char ids[20][LQOS_TEST_ID_LEN];
	time_t before, after;

	open_db();
	before = time(NULL);
	for (int i = 0; i < 20; i++) {
		struct inserted r = insert_ok("192.0.2.1");
		long long secs = 0, n = 0;
		ck_assert_msg(matches("^isp_[0-9]+_[0-9]+$", r.test_id), "id %s", r.test_id);
		ck_assert_int_eq(sscanf(r.test_id, "isp_%lld_%lld", &secs, &n), 2);
		ck_assert_int_ge(secs, (long long)before);
		ck_assert_int_le(secs, (long long)time(NULL));
		/* 63 random bits, not the row number: unique across servers */
		ck_assert_int_gt(n, 0);
		ck_assert_msg(matches("^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:"
				      "[0-6][0-9]\\.[0-9]{3}Z$",
				      r.timestamp),
			      "timestamp %s", r.timestamp);
		for (int j = 0; j < i; j++)
			ck_assert_str_ne(ids[j], r.test_id);
		strcpy(ids[i], r.test_id);
	}
	after = time(NULL);
	ck_assert_int_le(after - before, 10);
	ck_assert_int_eq(query_long("SELECT count(DISTINCT test_id) FROM test_results"), 20);
}
END_TEST

START_TEST(insert_stores_graded_row)
{
	struct inserted r;
	char sql[256];

	open_db();
	r = insert_ok("2001:db8::42");
	snprintf(sql, sizeof(sql), "SELECT client_ip FROM test_results WHERE test_id = '%s'",
		 r.test_id);
	ck_assert_str_eq(query_text(sql), "2001:db8::42");
	ck_assert_str_eq(query_text("SELECT user_agent FROM test_results"),
			 "Mozilla/5.0 (check_store)");
	ck_assert_str_eq(query_text("SELECT test_type FROM test_results"), "single_user");
	ck_assert_str_eq(query_text("SELECT overall_grade FROM test_results"), "C");
	ck_assert_str_eq(query_text("SELECT download_grade || upload_grade || bidirectional_grade "
				    "FROM test_results"),
			 "BCC");
	ck_assert_int_eq(query_long("SELECT single_user_score FROM test_results"), 47);
	ck_assert_int_eq(query_long("SELECT household_score IS NULL FROM test_results"), 1);
	ck_assert_str_eq(query_text("SELECT download_mbps FROM test_results"), "115.6");
	ck_assert_str_eq(query_text("SELECT bidirectional_latency_increase_ms FROM test_results"),
			 "67.1");
	/* the result's own server name wins over the configured one */
	ck_assert_str_eq(query_text("SELECT test_server_name FROM test_results"),
			 "speedtest-fixture");
	ck_assert_str_eq(query_text("SELECT timestamp FROM test_results"), r.timestamp);
	ck_assert_int_eq(query_long("SELECT json_valid(details_json) FROM test_results"), 1);

	insert_full(&household, "192.0.2.9", 1000, 0);
	ck_assert_str_eq(query_text("SELECT alex_grade || sarah_grade || jake_grade || "
				    "computer_grade || overall_grade FROM test_results "
				    "WHERE client_ip = '192.0.2.9'"),
			 "A+AACB");
	/* mean 75, capped at the overall B's 60 */
	ck_assert_int_eq(query_long("SELECT household_score FROM test_results "
				    "WHERE client_ip = '192.0.2.9'"),
			 60);
	/* no server name in the result: the configured one */
	ck_assert_str_eq(query_text("SELECT test_server_name FROM test_results "
				    "WHERE client_ip = '192.0.2.9'"),
			 "fallback-server");
}
END_TEST

START_TEST(retention_keeps_newest)
{
	json_t *rows;
	char why2[256];

	open_db();
	for (int i = 0; i < 12; i++) {
		struct inserted r = insert_full(&single, "192.0.2.1", 5, 0);
		ck_assert_int_eq(r.status, LQOS_STORE_OK);
		ck_assert_int_le(query_long("SELECT count(*) FROM test_results"), 5);
	}
	ck_assert_int_eq(query_long("SELECT count(*) FROM test_results"), 5);
	ck_assert_int_eq(query_long("SELECT min(id) FROM test_results"), 8);
	ck_assert_int_eq(query_long("SELECT max(id) FROM test_results"), 12);
	rows = recent_rows(db, 100, why2, sizeof(why2));
	ck_assert_uint_eq(json_array_size(rows), 5);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(rows, 0), "id")), 12);
	json_decref(rows);
	/* a lower limit later trims at once; a higher one keeps everything */
	insert_full(&single, "192.0.2.1", 2, 0);
	ck_assert_int_eq(query_long("SELECT count(*) FROM test_results"), 2);
	insert_full(&single, "192.0.2.1", 1000, 0);
	ck_assert_int_eq(query_long("SELECT count(*) FROM test_results"), 3);
	/* max 1 keeps only the new row */
	insert_full(&single, "192.0.2.1", 1, 0);
	ck_assert_int_eq(query_long("SELECT count(*) FROM test_results"), 1);
	ck_assert_int_eq(query_long("SELECT id FROM test_results"), 15);
}
END_TEST

START_TEST(retention_counts_rows_not_ids)
{
	/* Rows deleted by hand leave gaps in the ids: retention must still
	 * keep exactly the newest max rows. */
	open_db();
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(insert_full(&single, "192.0.2.1", 10, 0).status, LQOS_STORE_OK);
	exec("DELETE FROM test_results WHERE id IN (3, 5, 8, 9)");
	ck_assert_int_eq(query_long("SELECT count(*) FROM test_results"), 6);
	ck_assert_int_eq(insert_full(&single, "192.0.2.1", 5, 0).status, LQOS_STORE_OK);
	ck_assert_int_eq(query_long("SELECT count(*) FROM test_results"), 5);
	ck_assert_int_eq(query_long("SELECT min(id) FROM test_results"), 4);
	ck_assert_int_eq(query_long("SELECT max(id) FROM test_results"), 11);
	/* and with a gap at the top too */
	exec("DELETE FROM test_results WHERE id IN (10, 11)");
	ck_assert_int_eq(insert_full(&single, "192.0.2.1", 4, 0).status, LQOS_STORE_OK);
	ck_assert_int_eq(query_long("SELECT count(*) FROM test_results"), 4);
	ck_assert_int_eq(insert_full(&single, "192.0.2.1", 4, 0).status, LQOS_STORE_OK);
	ck_assert_int_eq(query_long("SELECT count(*) FROM test_results"), 4);
	/* the count retention reads is the table's, deletions included */
	exec("DELETE FROM test_results WHERE id = (SELECT min(id) FROM test_results)");
	ck_assert_int_eq(query_long("SELECT n FROM test_results_count"), 3);
	ck_assert_int_eq(insert_full(&single, "192.0.2.1", 4, 0).status, LQOS_STORE_OK);
	ck_assert_int_eq(query_long("SELECT count(*) FROM test_results"), 4);
	ck_assert_int_eq(query_long("SELECT n FROM test_results_count"), 4);
}
END_TEST

START_TEST(per_ip_limit)
{
	struct inserted r;

	open_db();
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(insert_full(&single, "198.51.100.1", 1000, 3).status,
				 LQOS_STORE_OK);
	r = insert_full(&single, "198.51.100.1", 1000, 3);
	ck_assert_int_eq(r.status, LQOS_STORE_RATE_LIMITED);
	/* the oldest of the three leaves the window in about an hour */
	ck_assert_int_ge(r.retry_after, 3590);
	ck_assert_int_le(r.retry_after, 3601);
	ck_assert_int_eq(query_long("SELECT count(*) FROM test_results"), 3);
	/* other clients are not affected */
	ck_assert_int_eq(insert_full(&single, "198.51.100.2", 1000, 3).status, LQOS_STORE_OK);
	ck_assert_int_eq(insert_full(&single, "2001:db8::1", 1000, 3).status, LQOS_STORE_OK);
	/* 0 turns the limit off */
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(insert_full(&single, "198.51.100.1", 1000, 0).status,
				 LQOS_STORE_OK);
}
END_TEST

START_TEST(per_ip_limit_hour_window)
{
	char ts[LQOS_TIMESTAMP_LEN];
	time_t now = time(NULL);
	struct inserted r;

	open_db();
	/* five tests two hours ago and one just outside the hour: none count */
	iso_at(now - 7200, ts);
	for (long id = 1; id <= 5; id++)
		insert_raw(id, "198.51.100.1", ts);
	iso_at(now - 3660, ts);
	insert_raw(6, "198.51.100.1", ts);
	r = insert_full(&single, "198.51.100.1", 1000, 3);
	ck_assert_msg(r.status == LQOS_STORE_OK, "old rows counted: %s", why);

	/* three tests 3500 s ago fill a limit of 3 (with the new one: 4) */
	exec("DELETE FROM test_results");
	iso_at(now - 3500, ts);
	for (long id = 1; id <= 3; id++)
		insert_raw(id, "198.51.100.1", ts);
	r = insert_full(&single, "198.51.100.1", 1000, 3);
	ck_assert_int_eq(r.status, LQOS_STORE_RATE_LIMITED);
	/* the oldest leaves the window in about 100 s */
	ck_assert_msg(r.retry_after >= 90 && r.retry_after <= 110, "retry_after %ld",
		      r.retry_after);
	ck_assert_int_eq(query_long("SELECT count(*) FROM test_results"), 3);
}
END_TEST

static int hook_calls;

static int failing_hook(struct lqos_db *h, const char *test_id, const char *timestamp, void *ctx,
			char *w, size_t wlen)
{
	(void)h;
	(void)timestamp;
	hook_calls++;
	ck_assert_ptr_eq(ctx, &hook_calls);
	ck_assert(strncmp(test_id, "isp_", 4) == 0);
	snprintf(w, wlen, "outbox is full");
	return -1;
}

static int counting_hook(struct lqos_db *h, const char *test_id, const char *timestamp, void *ctx,
			 char *w, size_t wlen)
{
	(void)w;
	(void)wlen;
	(void)timestamp;
	(void)ctx;
	hook_calls++;
	/* the row is already there, inside the same transaction */
	{
		sqlite3_stmt *st;
		int n = 0;
		sqlite3_prepare_v2(lqos_store_sqlite(h),
				   "SELECT count(*) FROM test_results WHERE test_id = ?1", -1, &st,
				   NULL);
		sqlite3_bind_text(st, 1, test_id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
		ck_assert_int_eq(n, 1);
	}
	return 0;
}

START_TEST(hook_failure_rolls_back)
{
	struct lqos_store_insert_args a = {0};
	char id[LQOS_TEST_ID_LEN], ts[LQOS_TIMESTAMP_LEN];
	long retry = 0;

	open_db();
	a.result = &single;
	a.client_ip = "192.0.2.1";
	a.max_stored_tests = 1000;
	a.hook = failing_hook;
	a.hook_ctx = &hook_calls;
	hook_calls = 0;
	ck_assert_int_eq(lqos_store_insert(db, &a, id, ts, &retry, why, sizeof(why)),
			 LQOS_STORE_UNAVAILABLE);
	ck_assert_int_eq(hook_calls, 1);
	ck_assert_str_eq(why, "outbox is full");
	ck_assert_int_eq(query_long("SELECT count(*) FROM test_results"), 0);
	a.hook = counting_hook;
	ck_assert_int_eq(lqos_store_insert(db, &a, id, ts, &retry, why, sizeof(why)),
			 LQOS_STORE_OK);
	ck_assert_int_eq(hook_calls, 2);
	ck_assert_int_eq(query_long("SELECT count(*) FROM test_results"), 1);
}
END_TEST

/* ----------------------------------------------------------- queries */

START_TEST(recent_order_and_limit)
{
	char ids[6][LQOS_TEST_ID_LEN];
	json_t *rows, *row;

	open_db();
	rows = recent_rows(db, 50, why, sizeof(why));
	ck_assert_ptr_nonnull(rows);
	ck_assert_uint_eq(json_array_size(rows), 0);
	json_decref(rows);
	for (int i = 0; i < 6; i++)
		strcpy(ids[i],
		       insert_full(i % 2 ? &household : &single, "192.0.2.1", 1000, 0).test_id);
	rows = recent_rows(db, 4, why, sizeof(why));
	ck_assert_uint_eq(json_array_size(rows), 4);
	for (int i = 0; i < 4; i++)
		ck_assert_str_eq(
			json_string_value(json_object_get(json_array_get(rows, i), "test_id")),
			ids[5 - i]);
	/* column names as keys, numbers as numbers, grades as strings */
	row = json_array_get(rows, 1);
	ck_assert(json_is_integer(json_object_get(row, "id")));
	ck_assert(json_is_real(json_object_get(row, "download_mbps")));
	ck_assert(json_is_real(json_object_get(row, "baseline_latency_ms")));
	ck_assert(json_is_integer(json_object_get(row, "single_user_score")));
	ck_assert_str_eq(json_string_value(json_object_get(row, "overall_grade")), "C");
	ck_assert_str_eq(json_string_value(json_object_get(row, "test_type")), "single_user");
	ck_assert(json_is_null(json_object_get(row, "household_score")));
	ck_assert(json_is_null(json_object_get(row, "alex_grade")));
	ck_assert_ptr_null(json_object_get(row, "details_json"));
	row = json_array_get(rows, 0);
	ck_assert_str_eq(json_string_value(json_object_get(row, "test_type")), "virtual_household");
	ck_assert_str_eq(json_string_value(json_object_get(row, "alex_grade")), "A+");
	ck_assert(json_is_integer(json_object_get(row, "household_score")));
	json_decref(rows);
}
END_TEST

START_TEST(customer_history)
{
	json_t *rows;
	long total = -1;
	char last[LQOS_TEST_ID_LEN] = "";

	open_db();
	for (int i = 0; i < 7; i++) {
		struct inserted r = insert_ok(i % 3 == 0 ? "192.168.1.100" : "192.168.1.101");
		if (i % 3 == 0)
			strcpy(last, r.test_id);
	}
	rows = customer_rows(db, "192.168.1.100", 2, &total, why, sizeof(why));
	ck_assert_ptr_nonnull(rows);
	ck_assert_int_eq(total, 3);
	ck_assert_uint_eq(json_array_size(rows), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(rows, 0), "test_id")),
			 last);
	for (size_t i = 0; i < json_array_size(rows); i++)
		ck_assert_str_eq(
			json_string_value(json_object_get(json_array_get(rows, i), "client_ip")),
			"192.168.1.100");
	ck_assert_int_gt(json_integer_value(json_object_get(json_array_get(rows, 0), "id")),
			 json_integer_value(json_object_get(json_array_get(rows, 1), "id")));
	json_decref(rows);
	rows = customer_rows(db, "10.9.9.9", 20, &total, why, sizeof(why));
	ck_assert_uint_eq(json_array_size(rows), 0);
	ck_assert_int_eq(total, 0);
	json_decref(rows);
}
END_TEST

START_TEST(stats_totals)
{
	json_t *obj = json_object();
	struct inserted last;

	open_db();
	ck_assert_int_eq(lqos_store_stats(db, obj, why, sizeof(why)), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(obj, "total_tests_stored")), 0);
	ck_assert(json_is_null(json_object_get(obj, "last_test_time")));
	insert_ok("192.0.2.1");
	insert_ok("192.0.2.2");
	insert_full(&household, "192.0.2.1", 1000, 0);
	last = insert_full(&household, "2001:db8::1", 1000, 0);
	ck_assert_int_eq(lqos_store_stats(db, obj, why, sizeof(why)), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(obj, "total_tests_stored")), 4);
	ck_assert_int_eq(json_integer_value(json_object_get(obj, "unique_client_ips")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(obj, "single_user_tests")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(obj, "virtual_household_tests")), 2);
	ck_assert_str_eq(json_string_value(json_object_get(obj, "last_test_time")), last.timestamp);
	json_decref(obj);
}
END_TEST

START_TEST(meta_get_set)
{
	char *v;

	open_db();
	ck_assert_ptr_null(lqos_store_meta_get(db, "effective_config"));
	ck_assert_int_eq(
		lqos_store_meta_set(db, "effective_config", "ISP telemetry: local storage only"),
		0);
	v = lqos_store_meta_get(db, "effective_config");
	ck_assert_str_eq(v, "ISP telemetry: local storage only");
	free(v);
	ck_assert_int_eq(lqos_store_meta_set(db, "effective_config", "caf\xc3\xa9 \xe2\x82\xac"),
			 0);
	v = lqos_store_meta_get(db, "effective_config");
	ck_assert_str_eq(v, "caf\xc3\xa9 \xe2\x82\xac");
	free(v);
	ck_assert_int_eq(query_long("SELECT count(*) FROM meta WHERE key = 'effective_config'"), 1);
	ck_assert_ptr_null(lqos_store_meta_get(db, "other"));
	/* the compare-and-set behind "logged once per change" */
	ck_assert_int_eq(lqos_store_meta_change(db, "cas", "one"), 1);
	ck_assert_int_eq(lqos_store_meta_change(db, "cas", "one"), 0);
	ck_assert_int_eq(lqos_store_meta_change(db, "cas", "two"), 1);
	v = lqos_store_meta_get(db, "cas");
	ck_assert_str_eq(v, "two");
	free(v);
	/* it survives a reopen */
	lqos_store_close(db);
	open_db();
	v = lqos_store_meta_get(db, "effective_config");
	ck_assert_str_eq(v, "caf\xc3\xa9 \xe2\x82\xac");
	free(v);
}
END_TEST

START_TEST(now_format)
{
	char ts[LQOS_TIMESTAMP_LEN], want[LQOS_TIMESTAMP_LEN];
	time_t t = time(NULL);

	lqos_store_now(ts);
	ck_assert_msg(
		matches("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$", ts),
		"%s", ts);
	/* UTC, not local time: same date and hour as gmtime (barring a tick) */
	iso_at(t, want);
	ck_assert_msg(strncmp(ts, want, 13) == 0 || time(NULL) != t, "%s vs %s", ts, want);
}
END_TEST

/* --------------------------------------------------------- migration */

/* mkdir -p of dbpath's directory. */
static int make_parent(void)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/state", dir);
	if (mkdir(path, 0755) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/state/sub", dir);
	return mkdir(path, 0755);
}

static void make_original_database(void)
{
	char *schema = lqos_test_fixture("guide_schema.sql", NULL);

	ck_assert_int_eq(make_parent(), 0);
	ck_assert_int_eq(sqlite3_open(dbpath, &db_raw), SQLITE_OK);
	exec(schema);
	free(schema);
	/* rows as the original Python implementation wrote them */
	exec("INSERT INTO test_results (timestamp, client_ip, user_agent, test_type, download_mbps,"
	     " upload_mbps, baseline_latency_ms, download_latency_increase_ms,"
	     " upload_latency_increase_ms, bidirectional_latency_increase_ms, single_user_score,"
	     " download_grade, upload_grade, bidirectional_grade, overall_grade, test_server_name)"
	     " VALUES ('2025-06-12T12:42:18.123456', '192.168.1.100', 'Mozilla/5.0', 'single_user',"
	     " 115.6, 23.4, 12.3, 45.2, 78.9, 67.1, 80, 'B', 'C', 'C', 'B', 'Unknown')");
	exec("INSERT INTO test_results (timestamp, client_ip, test_type, household_score,"
	     " alex_grade, sarah_grade, jake_grade, computer_grade)"
	     " VALUES ('2025-06-12T13:00:00.000001', '192.168.1.101', 'virtual_household', 75,"
	     " 'A', 'B', 'A', 'C')");
	exec("INSERT INTO test_results (timestamp, client_ip, test_type, overall_grade)"
	     " VALUES ('2025-06-12T14:00:00.5', '192.168.1.100', 'single_user', 'F')");
	ck_assert_int_eq(query_long("PRAGMA user_version"), 0);
	ck_assert_str_ne(query_text("PRAGMA journal_mode"), "wal");
	sqlite3_close(db_raw);
	db_raw = NULL;
}

START_TEST(migrates_original_database)
{
	json_t *rows;
	long total = 0;
	struct inserted r;

	make_original_database();
	open_db();
	ck_assert_int_eq(query_long("PRAGMA user_version"), latest_version());
	ck_assert_str_eq(query_text("PRAGMA journal_mode"), "wal");
	/* rows kept, untouched, each given a test id */
	ck_assert_int_eq(query_long("SELECT count(*) FROM test_results"), 3);
	ck_assert_str_eq(query_text("SELECT group_concat(test_id, ',') FROM "
				    "(SELECT test_id FROM test_results ORDER BY id)"),
			 "isp_legacy_1,isp_legacy_2,isp_legacy_3");
	ck_assert_str_eq(query_text("SELECT timestamp FROM test_results WHERE id = 1"),
			 "2025-06-12T12:42:18.123456");
	ck_assert_str_eq(query_text("SELECT overall_grade || download_mbps FROM test_results "
				    "WHERE id = 1"),
			 "B115.6");
	ck_assert_str_eq(query_text("SELECT alex_grade || computer_grade FROM test_results "
				    "WHERE id = 2"),
			 "AC");
	/* new rows go after them */
	r = insert_ok("192.168.1.100");
	ck_assert_str_eq(query_text("SELECT max(id) FROM test_results"), "4");
	ck_assert_str_eq(query_text("SELECT test_id FROM test_results WHERE id = 4"), r.test_id);
	rows = customer_rows(db, "192.168.1.100", 20, &total, why, sizeof(why));
	ck_assert_int_eq(total, 3);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(rows, 0), "test_id")),
			 r.test_id);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(rows, 2), "test_id")),
			 "isp_legacy_1");
	json_decref(rows);
	/* reopening does not migrate again */
	lqos_store_close(db);
	open_db();
	ck_assert_int_eq(query_long("SELECT count(*) FROM test_results"), 4);
	/* retention applies to the old rows too */
	insert_full(&single, "192.0.2.1", 2, 0);
	ck_assert_int_eq(query_long("SELECT count(*) FROM test_results"), 2);
	ck_assert_int_eq(query_long("SELECT min(id) FROM test_results"), 4);
}
END_TEST

/* ---------------------------------------------------------- failures */

START_TEST(parent_is_a_file)
{
	char path[PATH_MAX];

	lqos_test_write(dir, "plainfile", "not a directory\n");
	snprintf(path, sizeof(path), "%s/plainfile/sub/isp_telemetry.db", dir);
	ck_assert_ptr_null(lqos_store_open(path, why, sizeof(why)));
	ck_assert_msg(strstr(why, "writable") != NULL, "why: %s", why);
	snprintf(path, sizeof(path), "%s/plainfile/isp_telemetry.db", dir);
	ck_assert_ptr_null(lqos_store_open(path, why, sizeof(why)));
	ck_assert_msg(strstr(why, "writable") != NULL, "why: %s", why);
}
END_TEST

START_TEST(path_is_a_directory)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/adir", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ck_assert_ptr_null(lqos_store_open(path, why, sizeof(why)));
	ck_assert_msg(strstr(why, path) != NULL, "why: %s", why);
	ck_assert_msg(strstr(why, "writable") != NULL, "why: %s", why);
}
END_TEST

START_TEST(not_a_database)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s",
		 lqos_test_write(dir, "garbage.db",
				 "this is not an SQLite database, not at all. "
				 "it is long enough to have a header though."));
	ck_assert_ptr_null(lqos_store_open(path, why, sizeof(why)));
	ck_assert_msg(strstr(why, "not a database") != NULL, "why: %s", why);
}
END_TEST

/* A database that refuses writes (works as root too): the insert fails
 * cleanly and says why, and nothing is half-written. */
START_TEST(read_only_database_insert)
{
	struct inserted r;

	open_db();
	insert_ok("192.0.2.1");
	exec("PRAGMA query_only = 1");
	r = insert_full(&single, "192.0.2.1", 1000, 60);
	ck_assert_int_eq(r.status, LQOS_STORE_UNAVAILABLE);
	ck_assert_msg(strstr(why, "writable") != NULL, "why: %s", why);
	exec("PRAGMA query_only = 0");
	ck_assert_int_eq(query_long("SELECT count(*) FROM test_results"), 1);
	insert_ok("192.0.2.1");
}
END_TEST

/* File permissions (skipped as root, who ignores them). */
START_TEST(read_only_permissions)
{
	char state[PATH_MAX];

	if (geteuid() == 0)
		LQOS_SKIP_TEST("root ignores file permissions");
	open_db();
	lqos_store_close(db);
	db = NULL;
	snprintf(state, sizeof(state), "%s/state/sub", dir);
	ck_assert_int_eq(chmod(dbpath, 0444), 0);
	ck_assert_int_eq(chmod(state, 0555), 0);
	db = lqos_store_open(dbpath, why, sizeof(why));
	if (db != NULL) {
		struct inserted r = insert_full(&single, "192.0.2.1", 1000, 0);
		ck_assert_int_eq(r.status, LQOS_STORE_UNAVAILABLE);
	}
	ck_assert_msg(strstr(why, "writable") != NULL, "why: %s", why);
	chmod(state, 0755);
	chmod(dbpath, 0644);
}
END_TEST

/* ------------------------------------------------------------ data requests */

static struct inserted insert_keyed(const char *ip, const char *key, const char *sha, long per_ip)
{
	struct lqos_store_insert_args a = {0};
	struct inserted out;

	memset(&out, 0, sizeof(out));
	a.result = &single;
	a.client_ip = ip;
	a.max_stored_tests = 1000;
	a.max_per_ip_per_hour = per_ip;
	a.idem_key = key;
	a.request_sha256 = sha;
	out.status = lqos_store_insert(db, &a, out.test_id, out.timestamp, &out.retry_after, why,
				       sizeof(why));
	return out;
}

START_TEST(idempotency_key_format)
{
	char longest[LQOS_IDEM_KEY_MAX + 2];

	ck_assert(lqos_store_idem_key_valid("0123456789abcdef"));
	ck_assert(lqos_store_idem_key_valid("AZaz09-_AZaz09-_"));
	ck_assert(!lqos_store_idem_key_valid("0123456789abcde"));
	ck_assert(!lqos_store_idem_key_valid("0123456789abcdef "));
	ck_assert(!lqos_store_idem_key_valid("0123456789abcdef."));
	ck_assert(!lqos_store_idem_key_valid(""));
	ck_assert(!lqos_store_idem_key_valid(NULL));
	memset(longest, 'k', sizeof(longest));
	longest[LQOS_IDEM_KEY_MAX] = '\0';
	ck_assert(lqos_store_idem_key_valid(longest));
	longest[LQOS_IDEM_KEY_MAX] = 'k';
	longest[LQOS_IDEM_KEY_MAX + 1] = '\0';
	ck_assert(!lqos_store_idem_key_valid(longest));
}
END_TEST

START_TEST(idempotent_repeat_stores_once)
{
	struct inserted first, again, other, reused;

	open_db();
	first = insert_keyed("198.51.100.9", "key-0123456789abcdef", "aa", 1);
	ck_assert_msg(first.status == LQOS_STORE_OK, "%s", why);
	/* the repeat: first answer, no row, and not over the limit of 1 */
	again = insert_keyed("198.51.100.9", "key-0123456789abcdef", "aa", 1);
	ck_assert_int_eq(again.status, LQOS_STORE_REPEAT);
	ck_assert_str_eq(again.test_id, first.test_id);
	ck_assert_str_eq(again.timestamp, first.timestamp);
	ck_assert_int_eq(query_long("SELECT count(*) FROM test_results"), 1);
	/* another body under the same key */
	reused = insert_keyed("198.51.100.9", "key-0123456789abcdef", "bb", 0);
	ck_assert_int_eq(reused.status, LQOS_STORE_KEY_REUSED);
	/* the same key from another address is its own submission */
	other = insert_keyed("2001:db8::9", "key-0123456789abcdef", "aa", 1);
	ck_assert_int_eq(other.status, LQOS_STORE_OK);
	ck_assert_str_ne(other.test_id, first.test_id);
	ck_assert_int_eq(query_long("SELECT count(*) FROM test_results"), 2);
	ck_assert_int_eq(query_long("SELECT count(*) FROM submission_keys"), 2);
	/* keys older than a day are forgotten by the next insert */
	exec("UPDATE submission_keys SET created_at = created_at - 86401");
	ck_assert_int_eq(insert_keyed("192.0.2.9", "fresh-0123456789abcd", "cc", 0).status,
			 LQOS_STORE_OK);
	ck_assert_int_eq(query_long("SELECT count(*) FROM submission_keys"), 1);
}
END_TEST

static int erase_text(const char *target, bool dry_run, struct lqos_erase_counts *n)
{
	struct lqos_filter f = {0};
	char canonical[LQOS_IP_STRLEN + 8];

	ck_assert_int_eq(lqos_filter_set_prefix(&f, target, canonical, sizeof(canonical)), 0);
	return lqos_store_erase(db, f.lo, f.hi, f.blob_len, dry_run, n, why, sizeof(why));
}

START_TEST(erase_by_address_and_prefix)
{
	struct lqos_erase_counts n;

	open_db();
	insert_ok("203.0.113.7");
	insert_ok("203.0.113.7");
	insert_ok("203.0.113.8");
	insert_ok("203.0.114.7");
	insert_ok("2001:db8:1:2::5");
	insert_ok("2001:db8:1:3::5");
	ck_assert_int_eq(insert_keyed("203.0.113.8", "k-0123456789abcdef", "aa", 0).status,
			 LQOS_STORE_OK);
	exec("INSERT INTO webhook_outbox (event_id, target, url, payload, created_at, "
	     "next_attempt_at, state) VALUES "
	     "('a', 'webhook', 'u', '{\"client_ip\":\"203.0.113.7\"}', 1, 1, 'pending'), "
	     "('b', 'webhook', 'u', '{\"client_ip\":\"203.0.113.8\"}', 1, 1, 'delivered'), "
	     "('c', 'webhook', 'u', '{\"client_ip\":\"203.0.114.7\"}', 1, 1, 'pending'), "
	     "('d', 'central', 'u', '{\"event_id\":\"d\"}', 1, 1, 'pending')");
	ck_assert_int_eq(erase_text("203.0.113.0/24", true, &n), 0);
	ck_assert_int_eq(n.tests, 4);
	ck_assert_int_eq(n.outbox_pending, 1);
	ck_assert_int_eq(n.outbox_settled, 1);
	ck_assert_int_eq(n.submission_keys, 1);
	ck_assert_int_eq(query_long("SELECT count(*) FROM test_results"), 7);
	ck_assert_int_eq(erase_text("203.0.113.7", false, &n), 0);
	ck_assert_int_eq(n.tests, 2);
	ck_assert_int_eq(query_long("SELECT count(*) FROM test_results"), 5);
	ck_assert_int_eq(query_long("SELECT n FROM test_results_count"), 5);
	ck_assert_int_eq(erase_text("203.0.113.0/24", false, &n), 0);
	ck_assert_int_eq(n.tests, 2);
	ck_assert_int_eq(n.outbox_settled, 1);
	ck_assert_int_eq(n.submission_keys, 1);
	ck_assert_int_eq(query_long("SELECT count(*) FROM submission_keys"), 0);
	/* the neighbour and the central event (no address) are kept */
	ck_assert_int_eq(query_long("SELECT count(*) FROM webhook_outbox"), 2);
	ck_assert_int_eq(erase_text("2001:db8:1:2::/64", false, &n), 0);
	ck_assert_int_eq(n.tests, 1);
	ck_assert_str_eq(query_text("SELECT group_concat(client_ip, ' ') FROM "
				    "(SELECT client_ip FROM test_results ORDER BY id)"),
			 "203.0.114.7 2001:db8:1:3::5");
	ck_assert_int_eq(query_long("SELECT n FROM test_results_count"), 2);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("schema");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, open_creates_everything);
	tcase_add_test(tc, writer_waits_for_lock);
	tcase_add_test(tc, schema_has_guide_columns);
	tcase_add_test(tc, reopen_is_harmless);
	tcase_add_test(tc, relative_path_refused);
	tcase_add_test(tc, migrates_original_database);
	suite_add_tcase(s, tc);

	tc = tcase_create("insert");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, insert_ids_and_timestamps);
	tcase_add_test(tc, wal_reused_not_grown);
	tcase_add_test(tc, insert_stores_graded_row);
	tcase_add_test(tc, retention_keeps_newest);
	tcase_add_test(tc, retention_counts_rows_not_ids);
	tcase_add_test(tc, per_ip_limit);
	tcase_add_test(tc, per_ip_limit_hour_window);
	tcase_add_test(tc, hook_failure_rolls_back);
	tcase_add_test(tc, idempotency_key_format);
	tcase_add_test(tc, idempotent_repeat_stores_once);
	tcase_add_test(tc, erase_by_address_and_prefix);
	suite_add_tcase(s, tc);

	tc = tcase_create("queries");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, recent_order_and_limit);
	tcase_add_test(tc, customer_history);
	tcase_add_test(tc, stats_totals);
	tcase_add_test(tc, meta_get_set);
	tcase_add_test(tc, now_format);
	suite_add_tcase(s, tc);

	tc = tcase_create("failures");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, parent_is_a_file);
	tcase_add_test(tc, path_is_a_directory);
	tcase_add_test(tc, not_a_database);
	tcase_add_test(tc, read_only_database_insert);
	tcase_add_test(tc, read_only_permissions);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return lqos_test_run(store_suite());
}
