/* The storage operations written once for both back ends (the SQL the
 * two dialects agree on), over the seam in store_backend.h. */
#include "store.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <time.h>
#include <unistd.h>

#include "ipaddr.h"
#include "log.h"
#include "rows.h"
#include "store_backend.h"

#define ROW_COLUMNS LQOS_STORE_ROW_COLUMNS

struct lqos_db *lqos_store_connect(const struct lqos_config *cfg, char *why, size_t whylen)
{
	if (cfg->database_url != NULL && cfg->database_url[0] != '\0')
		return lqos_store_open_pg(cfg->database_url, why, whylen);
	return lqos_store_open(cfg->database_path, why, whylen);
}

struct lqos_db *lqos_store_open(const char *path, char *why, size_t whylen)
{
	return lqos_store_sqlite_open(path, why, whylen);
}

void lqos_store_close(struct lqos_db *db)
{
	if (db != NULL)
		db->ops->conn.close(db);
}

const char *lqos_store_kind(const struct lqos_db *db)
{
	return db->ops->name;
}

struct lqos_cursor *lqos_db_query(struct lqos_db *db, const char *sql, const struct lqos_param *p,
				  int n)
{
	return db->ops->conn.query(db, sql, p, n);
}

int lqos_db_exec(struct lqos_db *db, const char *sql, const struct lqos_param *p, int n,
		 long long *changes)
{
	return db->ops->conn.exec(db, sql, p, n, changes);
}

void lqos_store_describe(struct lqos_db *db, const char *what, char *why, size_t whylen)
{
	db->ops->conn.describe(db, what, why, whylen);
}

void lqos_db_describe(struct lqos_db *db, const char *what, char *why, size_t whylen)
{
	db->ops->conn.describe(db, what, why, whylen);
}

int lqos_cursor_next(struct lqos_cursor *c)
{
	return c->ops->cursor.next(c);
}

int lqos_cursor_ncols(struct lqos_cursor *c)
{
	return c->ops->cursor.ncols(c);
}

const char *lqos_cursor_name(struct lqos_cursor *c, int i)
{
	return c->ops->cursor.col_name(c, i);
}

enum lqos_val lqos_cursor_type(struct lqos_cursor *c, int i)
{
	return c->ops->cursor.col_type(c, i);
}

long long lqos_cursor_int(struct lqos_cursor *c, int i)
{
	return c->ops->cursor.col_int(c, i);
}

double lqos_cursor_real(struct lqos_cursor *c, int i)
{
	return c->ops->cursor.col_real(c, i);
}

const char *lqos_cursor_text(struct lqos_cursor *c, int i, size_t *len)
{
	if (c->ops->cursor.col_type(c, i) == LQOS_VAL_NULL) {
		if (len)
			*len = 0;
		return NULL;
	}
	return (const char *)c->ops->cursor.col_text(c, i, len);
}

void lqos_cursor_free(struct lqos_cursor *c)
{
	if (c != NULL)
		c->ops->cursor.cursor_free(c);
}

int lqos_db_long(struct lqos_db *db, const char *sql, const struct lqos_param *p, int n,
		 long long *out)
{
	struct lqos_cursor *c = lqos_db_query(db, sql, p, n);
	int rc;

	if (c == NULL)
		return -1;
	rc = lqos_cursor_next(c);
	if (rc == 1 && lqos_cursor_type(c, 0) != LQOS_VAL_NULL) {
		*out = lqos_cursor_int(c, 0);
		rc = 0;
	} else if (rc == 1 || rc == 0) {
		rc = 1;
	}
	lqos_cursor_free(c);
	return rc;
}

void lqos_store_now(char out[LQOS_TIMESTAMP_LEN])
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	/* Years are 4 digits until 9999; the casts keep the compiler's
	 * truncation check quiet about impossible widths. */
	snprintf(out, LQOS_TIMESTAMP_LEN, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ",
		 (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)(tm.tm_mon + 1) % 100u,
		 (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u,
		 (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u,
		 (unsigned)(ts.tv_nsec / 1000000L) % 1000u);
}

void lqos_store_make_test_id(char out[LQOS_TEST_ID_LEN], long long unix_seconds)
{
	unsigned long long r = 0;

	/* 63 random bits: unique across servers that share nothing (two
	 * SQLite servers sending to one portal) and across servers sharing
	 * one PostgreSQL database alike, with no coordination. */
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		r = ((unsigned long long)ts.tv_nsec << 32) ^ (unsigned long long)getpid() ^
		    (unsigned long long)ts.tv_sec * 0x9e3779b97f4a7c15ull;
	}
	r &= 0x7fffffffffffffffull;
	snprintf(out, LQOS_TEST_ID_LEN, "isp_%lld_%llu", unix_seconds, r);
}

static void iso_from_time(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.000Z", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Two decimals are plenty for Mbps and ms and keep JSON readable. */
static struct lqos_param measure(double v)
{
	return lqos_p_real(round(v * 100.0) / 100.0);
}

static struct lqos_param grade(enum lqos_grade g)
{
	return lqos_p_text(lqos_grade_name(g));
}

static struct lqos_param score(int s)
{
	return s >= 0 ? lqos_p_int(s) : lqos_p_null();
}

/* Within the write transaction: how many results this IP stored in the
 * last hour, and when the oldest of them leaves the window. */
static int check_rate(struct lqos_db *db, const char *ip, long limit, long *retry_after)
{
	char since[64];
	struct lqos_param p[2];
	struct lqos_cursor *c;
	struct timespec ts;
	time_t now;
	long count = 0;

	/* The clock the timestamps are read from: time() is the kernel's
	 * coarse clock, a tick behind, so the newest row could be "later"
	 * than now and Retry-After one second too long. */
	clock_gettime(CLOCK_REALTIME, &ts);
	now = ts.tv_sec;
	if (db->ops->conn.lock_key != NULL && db->ops->conn.lock_key(db, ip) != 0)
		return -1;
	iso_from_time(now - 3600, since, sizeof(since));
	p[0] = lqos_p_text(ip);
	p[1] = lqos_p_text(since);
	c = lqos_db_query(db,
			  "SELECT count(*), min(timestamp) FROM test_results "
			  "WHERE client_ip = ?1 AND timestamp >= ?2",
			  p, 2);
	if (c == NULL || lqos_cursor_next(c) != 1) {
		lqos_cursor_free(c);
		return -1;
	}
	count = (long)lqos_cursor_int(c, 0);
	*retry_after = 60;
	if (count >= limit && lqos_cursor_type(c, 1) == LQOS_VAL_TEXT) {
		struct tm tm = {0};
		const char *oldest = lqos_cursor_text(c, 1, NULL);
		if (sscanf(oldest, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			   &tm.tm_hour, &tm.tm_min, &tm.tm_sec) == 6) {
			time_t t;
			tm.tm_year -= 1900;
			tm.tm_mon -= 1;
			t = timegm(&tm);
			*retry_after = (long)(t + 3600 - now) + 1;
			if (*retry_after < 1)
				*retry_after = 1;
		}
	}
	lqos_cursor_free(c);
	return count >= limit ? 1 : 0;
}

static const char insert_sql[] =
	"INSERT INTO test_results (id, test_id, timestamp, client_ip, user_agent, test_type, "
	"download_mbps, upload_mbps, baseline_latency_ms, download_latency_increase_ms, "
	"upload_latency_increase_ms, bidirectional_latency_increase_ms, single_user_score, "
	"download_grade, upload_grade, bidirectional_grade, overall_grade, household_score, "
	"alex_grade, sarah_grade, jake_grade, computer_grade, test_server_name, "
	"test_duration_seconds, details_json, client_ip_bin) VALUES "
	"(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
	"?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)";

static int insert_row(struct lqos_db *db, const struct lqos_store_insert_args *a, long long id,
		      const char *test_id, const char *timestamp)
{
	const struct lqos_result *r = a->result;
	const char *server = r->server_name[0] ? r->server_name : a->server_name;
	json_t *details = lqos_result_details_json(r);
	char *details_text = json_dumps(details, JSON_COMPACT | JSON_REAL_PRECISION(15));
	uint8_t blob[LQOS_IP_BLOB_MAX];
	size_t blob_len = lqos_ip_blob(a->client_ip, blob);
	struct lqos_param p[26] = {
		lqos_p_int(id),
		lqos_p_text(test_id),
		lqos_p_text(timestamp),
		lqos_p_text(a->client_ip),
		lqos_p_text(a->user_agent),
		lqos_p_text(lqos_test_type_name(r->type)),
		measure(r->download_mbps),
		measure(r->upload_mbps),
		measure(r->baseline_latency_ms),
		measure(r->phase[LQOS_PHASE_DOWNLOAD].latency_increase_ms),
		measure(r->phase[LQOS_PHASE_UPLOAD].latency_increase_ms),
		measure(r->phase[LQOS_PHASE_BIDIRECTIONAL].latency_increase_ms),
		score(r->single_user_score),
		grade(r->phase_grade[LQOS_PHASE_DOWNLOAD]),
		grade(r->phase_grade[LQOS_PHASE_UPLOAD]),
		grade(r->phase_grade[LQOS_PHASE_BIDIRECTIONAL]),
		grade(r->overall_grade),
		score(r->household_score),
		grade(r->user_grade[LQOS_USER_ALEX]),
		grade(r->user_grade[LQOS_USER_SARAH]),
		grade(r->user_grade[LQOS_USER_JAKE]),
		grade(r->user_grade[LQOS_USER_COMPUTER]),
		lqos_p_text(server && server[0] ? server : NULL),
		measure(r->test_duration_seconds),
		lqos_p_text(details_text),
		blob_len ? lqos_p_blob(blob, blob_len) : lqos_p_null(),
	};
	int rc;

	json_decref(details);
	rc = lqos_db_exec(db, insert_sql, p, 26, NULL);
	free(details_text);
	return rc;
}

/* Keep exactly the newest max rows, whatever gaps hand deletions left in
 * the ids: the row count is kept by triggers (migration 5), and only the
 * rows over max are deleted, oldest first along the id index. After the
 * first insert that is one row: the cost depends on neither the table's
 * size nor max. With several servers on one PostgreSQL database the
 * count row is updated by every insert, so the inserts serialise on it
 * and max_stored_tests holds across all of them. */
static int prune(struct lqos_db *db, long max)
{
	long long count = 0;
	struct lqos_param p;

	if (lqos_db_long(db, "SELECT n FROM test_results_count", NULL, 0, &count) < 0)
		return -1;
	if (count <= max)
		return 0;
	p = lqos_p_int(count - max);
	return lqos_db_exec(db,
			    "DELETE FROM test_results WHERE id IN "
			    "(SELECT id FROM test_results ORDER BY id LIMIT ?1)",
			    &p, 1, NULL);
}

bool lqos_store_idem_key_valid(const char *key)
{
	size_t len = 0;

	if (key == NULL)
		return false;
	for (; key[len] != '\0'; len++) {
		char c = key[len];
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			  (c >= '0' && c <= '9') || c == '-' || c == '_';
		if (!ok || len >= LQOS_IDEM_KEY_MAX)
			return false;
	}
	return len >= LQOS_IDEM_KEY_MIN;
}

/* Within the write transaction: the first answer to this key from this
 * address. Returns 1 (test_id and timestamp filled) when it was stored
 * with the same body, 2 when with another body, 0 when new, -1 on error. */
static int idem_lookup(struct lqos_db *db, const struct lqos_store_insert_args *a,
		       char test_id[LQOS_TEST_ID_LEN], char timestamp[LQOS_TIMESTAMP_LEN])
{
	struct lqos_param p[2] = {lqos_p_text(a->idem_key), lqos_p_text(a->client_ip)};
	struct lqos_cursor *c;
	int rc, found = -1;

	/* Two servers may see one key at once (the page retries against a
	 * load balancer): the same per-address lock as the rate limit. */
	if (db->ops->conn.lock_key != NULL && db->ops->conn.lock_key(db, a->client_ip) != 0)
		return -1;
	c = lqos_db_query(db,
			  "SELECT test_id, timestamp, request_sha256 FROM submission_keys "
			  "WHERE idem_key = ?1 AND client_ip = ?2",
			  p, 2);
	if (c == NULL)
		return -1;
	rc = lqos_cursor_next(c);
	if (rc == 0) {
		found = 0;
	} else if (rc == 1) {
		const char *sha = lqos_cursor_text(c, 2, NULL);
		snprintf(test_id, LQOS_TEST_ID_LEN, "%s", lqos_cursor_text(c, 0, NULL));
		snprintf(timestamp, LQOS_TIMESTAMP_LEN, "%s", lqos_cursor_text(c, 1, NULL));
		found = sha != NULL && a->request_sha256 != NULL &&
					strcmp(sha, a->request_sha256) == 0
				? 1
				: 2;
	}
	lqos_cursor_free(c);
	return found;
}

/* Within the write transaction: remember the key's answer, and forget
 * keys older than LQOS_IDEM_KEY_SECONDS (along the created_at index). */
static int idem_remember(struct lqos_db *db, const struct lqos_store_insert_args *a,
			 const char *test_id, const char *timestamp)
{
	long long now = (long long)time(NULL);
	uint8_t blob[LQOS_IP_BLOB_MAX];
	size_t blob_len = lqos_ip_blob(a->client_ip, blob);
	struct lqos_param old = lqos_p_int(now - LQOS_IDEM_KEY_SECONDS);
	struct lqos_param p[7] = {
		lqos_p_text(a->idem_key),
		lqos_p_text(a->client_ip),
		blob_len ? lqos_p_blob(blob, blob_len) : lqos_p_null(),
		lqos_p_text(a->request_sha256 ? a->request_sha256 : ""),
		lqos_p_text(test_id),
		lqos_p_text(timestamp),
		lqos_p_int(now),
	};

	if (lqos_db_exec(db, "DELETE FROM submission_keys WHERE created_at < ?1", &old, 1, NULL) !=
	    0)
		return -1;
	return lqos_db_exec(db,
			    "INSERT INTO submission_keys (idem_key, client_ip, client_ip_bin, "
			    "request_sha256, test_id, timestamp, created_at) VALUES "
			    "(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
			    p, 7, NULL);
}

enum lqos_store_status lqos_store_insert(struct lqos_db *db, const struct lqos_store_insert_args *a,
					 char test_id[LQOS_TEST_ID_LEN],
					 char timestamp[LQOS_TIMESTAMP_LEN], long *retry_after,
					 char *why, size_t whylen)
{
	long long id = 0;
	int limited;

	if (db->ops->txn.begin(db) != 0) {
		lqos_db_describe(db, "starting a write", why, whylen);
		return LQOS_STORE_UNAVAILABLE;
	}
	if (a->idem_key != NULL) {
		int seen = idem_lookup(db, a, test_id, timestamp);
		if (seen < 0)
			goto fail;
		if (seen > 0) {
			db->ops->txn.rollback(db);
			return seen == 1 ? LQOS_STORE_REPEAT : LQOS_STORE_KEY_REUSED;
		}
	}
	if (a->max_per_ip_per_hour > 0) {
		limited = check_rate(db, a->client_ip, a->max_per_ip_per_hour, retry_after);
		if (limited != 0) {
			if (limited < 0)
				lqos_db_describe(db, "checking the rate limit", why, whylen);
			db->ops->txn.rollback(db);
			return limited > 0 ? LQOS_STORE_RATE_LIMITED : LQOS_STORE_UNAVAILABLE;
		}
	}
	if (lqos_db_long(db, db->ops->sql.next_id_sql, NULL, 0, &id) != 0)
		goto fail;
	lqos_store_now(timestamp);
	lqos_store_make_test_id(test_id, (long long)time(NULL));
	if (insert_row(db, a, id, test_id, timestamp) != 0)
		goto fail;
	if (a->hook != NULL && a->hook(db, test_id, timestamp, a->hook_ctx, why, whylen) != 0) {
		db->ops->txn.rollback(db);
		return LQOS_STORE_UNAVAILABLE;
	}
	if (a->idem_key != NULL && idem_remember(db, a, test_id, timestamp) != 0)
		goto fail;
	if (prune(db, a->max_stored_tests) != 0)
		goto fail;
	if (db->ops->txn.commit(db) != 0)
		goto fail;
	lqos_timing("insert_commit");
	if (db->ops->txn.sync != NULL && db->ops->txn.sync(db) != 0) {
		snprintf(why, whylen,
			 "telemetry database: the result could not be flushed to disk: %s",
			 strerror(errno));
		return LQOS_STORE_UNAVAILABLE;
	}
	lqos_timing("disk_flush");
	return LQOS_STORE_OK;
fail:
	lqos_db_describe(db, "storing the result", why, whylen);
	db->ops->txn.rollback(db);
	return LQOS_STORE_UNAVAILABLE;
}

int lqos_store_stats(struct lqos_db *db, json_t *obj, char *why, size_t whylen)
{
	long long total = 0, unique = 0, single = 0, household = 0;
	struct lqos_cursor *c;

	if (lqos_db_long(db, "SELECT count(*) FROM test_results", NULL, 0, &total) < 0 ||
	    lqos_db_long(db, "SELECT count(DISTINCT client_ip) FROM test_results", NULL, 0,
			 &unique) < 0 ||
	    lqos_db_long(db, "SELECT count(*) FROM test_results WHERE test_type = 'single_user'",
			 NULL, 0, &single) < 0 ||
	    lqos_db_long(db,
			 "SELECT count(*) FROM test_results WHERE test_type = 'virtual_household'",
			 NULL, 0, &household) < 0) {
		lqos_db_describe(db, "counting results", why, whylen);
		return -1;
	}
	json_object_set_new(obj, "total_tests_stored", json_integer(total));
	json_object_set_new(obj, "unique_client_ips", json_integer(unique));
	json_object_set_new(obj, "single_user_tests", json_integer(single));
	json_object_set_new(obj, "virtual_household_tests", json_integer(household));
	c = lqos_db_query(db, "SELECT timestamp FROM test_results ORDER BY id DESC LIMIT 1", NULL,
			  0);
	if (c == NULL) {
		lqos_db_describe(db, "reading results", why, whylen);
		return -1;
	}
	if (lqos_cursor_next(c) == 1 && lqos_cursor_type(c, 0) == LQOS_VAL_TEXT)
		json_object_set_new(obj, "last_test_time",
				    json_string(lqos_cursor_text(c, 0, NULL)));
	else
		json_object_set_new(obj, "last_test_time", json_null());
	lqos_cursor_free(c);
	return 0;
}

char *lqos_store_meta_get(struct lqos_db *db, const char *key)
{
	struct lqos_param p = lqos_p_text(key);
	struct lqos_cursor *c = lqos_db_query(db, "SELECT value FROM meta WHERE key = ?1", &p, 1);
	char *value = NULL;

	if (c == NULL)
		return NULL;
	if (lqos_cursor_next(c) == 1 && lqos_cursor_type(c, 0) != LQOS_VAL_NULL)
		value = strdup(lqos_cursor_text(c, 0, NULL));
	lqos_cursor_free(c);
	return value;
}

int lqos_store_meta_set(struct lqos_db *db, const char *key, const char *value)
{
	return lqos_store_meta_change(db, key, value) < 0 ? -1 : 0;
}

int lqos_store_meta_change(struct lqos_db *db, const char *key, const char *value)
{
	struct lqos_param p[2] = {lqos_p_text(key), lqos_p_text(value)};
	long long changes = 0;

	if (lqos_db_exec(db,
			 "INSERT INTO meta (key, value) VALUES (?1, ?2) "
			 "ON CONFLICT(key) DO UPDATE SET value = excluded.value "
			 "WHERE meta.value IS DISTINCT FROM excluded.value",
			 p, 2, &changes) != 0)
		return -1;
	return changes > 0 ? 1 : 0;
}

json_t *lqos_store_test(struct lqos_db *db, const char *test_id, char *why, size_t whylen)
{
	struct lqos_param p = lqos_p_text(test_id);
	struct lqos_cursor *c;
	json_t *rows, *row, *details = NULL;

	why[0] = '\0';
	c = lqos_db_query(db,
			  "SELECT " ROW_COLUMNS ", details_json FROM test_results "
			  "WHERE test_id = ?1",
			  &p, 1);
	if (c == NULL) {
		lqos_db_describe(db, "reading results", why, whylen);
		return NULL;
	}
	rows = lqos_rows_json(c);
	if (rows == NULL)
		lqos_db_describe(db, "reading results", why, whylen);
	lqos_cursor_free(c);
	if (rows == NULL)
		return NULL;
	row = json_array_get(rows, 0);
	if (row == NULL) {
		json_decref(rows);
		return NULL;
	}
	json_incref(row);
	json_decref(rows);
	/* The summary is stored as text; serve it as the object it is. */
	if (json_is_string(json_object_get(row, "details_json")))
		details = json_loads(json_string_value(json_object_get(row, "details_json")), 0,
				     NULL);
	json_object_del(row, "details_json");
	json_object_set_new(row, "details", details ? details : json_null());
	return row;
}

/* The statements of an erasure: each counts (dry run) or deletes the
 * matching rows of one table, ?1 and ?2 the blob range. Webhook events
 * are matched by the address in their payload (central events hold no
 * address; the back end turns it into the blob form); the stored test's
 * id would miss events whose row retention has already pruned. */
#define ERASE_TESTS "FROM test_results WHERE client_ip_bin BETWEEN ?1 AND ?2"
#define ERASE_KEYS "FROM submission_keys WHERE client_ip_bin BETWEEN ?1 AND ?2"

static int erase_step(struct lqos_db *db, const char *verb, const char *from, const char *extra,
		      const uint8_t *lo, const uint8_t *hi, size_t len, long *count)
{
	struct lqos_param p[2] = {lqos_p_blob(lo, len), lqos_p_blob(hi, len)};
	char sql[768];
	long long n = 0;

	snprintf(sql, sizeof(sql), "%s %s%s", verb, from, extra);
	if (count == NULL)
		return lqos_db_exec(db, sql, p, 2, NULL);
	if (lqos_db_long(db, sql, p, 2, &n) < 0)
		return -1;
	*count = (long)n;
	return 0;
}

/* The outbox's FROM clause with this back end's payload address. */
static const char *erase_outbox(struct lqos_db *db, char *buf, size_t len)
{
	snprintf(buf, len, "FROM webhook_outbox WHERE target = 'webhook' AND %s BETWEEN ?1 AND ?2",
		 db->ops->sql.payload_ip_blob_sql);
	return buf;
}

static int erase_count(struct lqos_db *db, const uint8_t *lo, const uint8_t *hi, size_t len,
		       struct lqos_erase_counts *c)
{
	char buf[512];
	const char *outbox = erase_outbox(db, buf, sizeof(buf));

	if (erase_step(db, "SELECT count(*)", ERASE_TESTS, "", lo, hi, len, &c->tests) != 0 ||
	    erase_step(db, "SELECT count(*)", outbox, " AND state = 'pending'", lo, hi, len,
		       &c->outbox_pending) != 0 ||
	    erase_step(db, "SELECT count(*)", outbox, " AND state != 'pending'", lo, hi, len,
		       &c->outbox_settled) != 0 ||
	    erase_step(db, "SELECT count(*)", ERASE_KEYS, "", lo, hi, len, &c->submission_keys) !=
		    0)
		return -1;
	return 0;
}

static int erase_delete(struct lqos_db *db, const uint8_t *lo, const uint8_t *hi, size_t len)
{
	char buf[512];
	const char *outbox = erase_outbox(db, buf, sizeof(buf));

	if (erase_step(db, "DELETE", ERASE_TESTS, "", lo, hi, len, NULL) != 0 ||
	    erase_step(db, "DELETE", outbox, "", lo, hi, len, NULL) != 0 ||
	    erase_step(db, "DELETE", ERASE_KEYS, "", lo, hi, len, NULL) != 0)
		return -1;
	return 0;
}

int lqos_store_erase(struct lqos_db *db, const uint8_t *lo, const uint8_t *hi, size_t blob_len,
		     bool dry_run, struct lqos_erase_counts *counts, char *why, size_t whylen)
{
	memset(counts, 0, sizeof(*counts));
	if (db->ops->txn.begin(db) != 0) {
		lqos_db_describe(db, "starting the erasure", why, whylen);
		return -1;
	}
	if (erase_count(db, lo, hi, blob_len, counts) != 0 ||
	    (!dry_run && erase_delete(db, lo, hi, blob_len) != 0)) {
		lqos_db_describe(db, "erasing", why, whylen);
		db->ops->txn.rollback(db);
		return -1;
	}
	if (dry_run) {
		db->ops->txn.rollback(db);
		return 0;
	}
	if (db->ops->txn.commit(db) != 0) {
		lqos_db_describe(db, "erasing", why, whylen);
		db->ops->txn.rollback(db);
		return -1;
	}
	return 0;
}
