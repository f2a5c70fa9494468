#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "migrations.h"
#include "ipaddr.h"
#include "log.h"
#include "rows.h"

#define BUSY_TIMEOUT_MS 10000
#define WAL_CHECKPOINT_BYTES (256 * 1024)

#define ROW_COLUMNS LQOS_STORE_ROW_COLUMNS

/* SQLite's own busy timeout sleeps longer and longer between tries (up
 * to 100 ms): under many short writers a waiting one keeps losing the
 * race, and a few submissions waited seconds behind the rest. Retrying
 * after 1, 2, 3, 4, then every 5 ms keeps each wait close to the real
 * queue; the total is still about BUSY_TIMEOUT_MS. */
#define BUSY_RETRY_MAX_MS 5

static int busy_retry(void *ctx, int count)
{
	int ms = count < BUSY_RETRY_MAX_MS ? count + 1 : BUSY_RETRY_MAX_MS;

	(void)ctx;
	if ((long)count * BUSY_RETRY_MAX_MS >= BUSY_TIMEOUT_MS)
		return 0;
	sqlite3_sleep(ms);
	return 1;
}

/* True when the file system holding `path` is mounted read-only (then
 * permissions are not what the operator has to fix). */
static bool on_readonly_fs(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = path ? strrchr(path, '/') : NULL;
	size_t len;
	struct statvfs vfs;

	if (slash == NULL)
		return false;
	len = slash == path ? 1 : (size_t)(slash - path);
	if (len >= sizeof(dir))
		return false;
	memcpy(dir, path, len);
	dir[len] = '\0';
	return statvfs(dir, &vfs) == 0 && (vfs.f_flag & ST_RDONLY) != 0;
}

static void describe_error(sqlite3 *db, const char *path, const char *what, char *why,
			   size_t whylen)
{
	int code = db ? sqlite3_errcode(db) : SQLITE_ERROR;

	switch (code & 0xff) {
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_CANTOPEN:
		if (on_readonly_fs(path)) {
			snprintf(why, whylen,
				 "telemetry database %s cannot be written: its file system is "
				 "mounted read-only",
				 path);
			break;
		}
		snprintf(why, whylen,
			 "telemetry database %s cannot be written (%s): the directory and file "
			 "must be writable by the web server user",
			 path ? path : "", db ? sqlite3_errmsg(db) : what);
		break;
	case SQLITE_FULL:
		snprintf(why, whylen,
			 "telemetry database %s: disk full; free space in its directory",
			 path ? path : "");
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		snprintf(why, whylen, "telemetry database is busy; try again in a moment");
		break;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		snprintf(why, whylen,
			 "telemetry database %s is damaged or not a database; restore it from "
			 "backup",
			 path ? path : "");
		break;
	default:
		snprintf(why, whylen, "telemetry database error while %s: %s", what,
			 db ? sqlite3_errmsg(db) : "unknown");
	}
}

/* mkdir -p for the directory part of `path`. */
static int make_parent_dirs(const char *path, char *why, size_t whylen)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);
	struct stat st;
	char *slash;

	if (len == 0 || len >= sizeof(buf)) {
		snprintf(why, whylen, "database_path is empty or too long");
		return -1;
	}
	memcpy(buf, path, len + 1);
	/* Every request opens the database: when its directory exists (the
	 * usual case) one stat() is all this costs. */
	slash = strrchr(buf, '/');
	if (slash != NULL && slash != buf) {
		*slash = '\0';
		if (stat(buf, &st) == 0 && S_ISDIR(st.st_mode))
			return 0;
		*slash = '/';
	}
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
			snprintf(why, whylen,
				 "cannot create database directory %s: %s (it must be writable "
				 "by the web server user)",
				 buf, strerror(errno));
			return -1;
		}
		*p = '/';
	}
	return 0;
}

static int exec_sql(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static int query_long(sqlite3 *db, const char *sql, long *out)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = (long)sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

static int user_version(sqlite3 *db, int *out)
{
	long v = 0;
	int rc = query_long(db, "PRAGMA user_version", &v);

	*out = (int)v;
	return rc;
}

/* Apply every migration above the file's user_version, each with its
 * version bump, in one IMMEDIATE transaction so concurrent first
 * requests serialise here. */
static int migrate(sqlite3 *db, const char *path, char *why, size_t whylen)
{
	int version = 0;
	int latest = (int)lqos_migrations[lqos_migrations_count - 1].version;
	char pragma[64];

	if (user_version(db, &version) != SQLITE_OK)
		goto fail_read;
	if (version >= latest)
		return 0;
	if (exec_sql(db, "BEGIN IMMEDIATE") != SQLITE_OK)
		goto fail_read;
	if (user_version(db, &version) != SQLITE_OK)
		goto fail;
	for (unsigned i = 0; i < lqos_migrations_count; i++) {
		const struct lqos_migration *m = &lqos_migrations[i];
		if (m->version <= version)
			continue;
		if (exec_sql(db, m->sql) != SQLITE_OK) {
			snprintf(why, whylen, "telemetry database %s: migration %s failed: %s",
				 path, m->name, sqlite3_errmsg(db));
			exec_sql(db, "ROLLBACK");
			return -1;
		}
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", m->version);
		if (exec_sql(db, pragma) != SQLITE_OK)
			goto fail;
	}
	if (exec_sql(db, "COMMIT") != SQLITE_OK)
		goto fail;
	return 0;
fail:
	describe_error(db, path, "upgrading the schema", why, whylen);
	exec_sql(db, "ROLLBACK");
	return -1;
fail_read:
	describe_error(db, path, "reading the schema version", why, whylen);
	return -1;
}

static int try_wal(sqlite3 *db)
{
	sqlite3_stmt *st;
	int is_wal = 0;
	int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *mode = sqlite3_column_text(st, 0);
		is_wal = mode != NULL && strcmp((const char *)mode, "wal") == 0;
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK || is_wal)
		return rc;
	return exec_sql(db, "PRAGMA journal_mode = WAL");
}

/* When the first requests on a new file switch it to WAL at once, SQLite
 * answers all but one SQLITE_BUSY straight away (waiting could deadlock,
 * so the busy handler is not called): retry for up to the busy timeout. */
static int ensure_wal(sqlite3 *db)
{
	for (int waited = 0;; waited += 10) {
		int rc = try_wal(db);

		if (rc == SQLITE_OK)
			return 0;
		if (((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) ||
		    waited >= BUSY_TIMEOUT_MS)
			return -1;
		sqlite3_sleep(10);
	}
}

/* lqos_ip_blob() in SQL: inserts and migration 004 fill client_ip_bin. */
static void ip_blob_sql(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	uint8_t blob[LQOS_IP_BLOB_MAX];
	size_t len;

	(void)argc;
	if (sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
		sqlite3_result_null(ctx);
		return;
	}
	len = lqos_ip_blob((const char *)sqlite3_value_text(argv[0]), blob);
	if (len == 0)
		sqlite3_result_null(ctx);
	else
		sqlite3_result_blob(ctx, blob, (int)len, SQLITE_TRANSIENT);
}

sqlite3 *lqos_store_open(const char *path, char *why, size_t whylen)
{
	sqlite3 *db = NULL;
	int rc;

	if (path == NULL || path[0] != '/') {
		snprintf(why, whylen, "database_path must be an absolute path");
		return NULL;
	}
	if (make_parent_dirs(path, why, whylen) != 0)
		return NULL;
	rc = sqlite3_open_v2(
		path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		describe_error(db, path, "opening", why, whylen);
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_handler(db, busy_retry, NULL);
	sqlite3_extended_result_codes(db, 1);
	/* Every CGI request is the last connection to close: by default each
	 * one would checkpoint (four fsyncs) and delete the WAL. Instead the
	 * WAL is kept, and lqos_store_close() checkpoints and truncates it
	 * once it passes WAL_CHECKPOINT_BYTES: the fsyncs are paid every few
	 * submissions, and the WAL recovery each new process runs (a process
	 * that opens the database alone rebuilds the WAL index) stays small. */
	sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	{
		int persist = 1;
		sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
	}
	if (ensure_wal(db) != 0) {
		describe_error(db, path, "switching to WAL", why, whylen);
		goto fail;
	}
	if (sqlite3_create_function(db, "lqos_ip_blob", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
				    ip_blob_sql, NULL, NULL) != SQLITE_OK) {
		describe_error(db, path, "registering functions", why, whylen);
		goto fail;
	}
	exec_sql(db, "PRAGMA synchronous = NORMAL");
	exec_sql(db, "PRAGMA wal_autocheckpoint = 0");
	if (migrate(db, path, why, whylen) != 0)
		goto fail;
	return db;
fail:
	sqlite3_close(db);
	return NULL;
}

/* Durability: SQLite runs with synchronous=NORMAL, so COMMIT writes the
 * WAL frames without waiting for the disk and releases the write lock at
 * once; the submission then flushes the WAL itself before it answers
 * 200. Outside the lock, concurrent submissions wait for the disk
 * together (one journal commit serves them all) instead of one after the
 * other, as synchronous=FULL would make them. A WAL already checkpointed
 * and truncated by another connection needs nothing: the checkpoint
 * synced the database file first. Returns 0, or -1 (errno) when the
 * flush failed. */
static int sync_wal(sqlite3 *db)
{
	const char *wal = sqlite3_filename_wal(sqlite3_db_filename(db, "main"));
	int fd, rc;

	if (wal == NULL || wal[0] == '\0')
		return 0;
	fd = open(wal, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	rc = fdatasync(fd);
	close(fd);
	return rc;
}

void lqos_store_close(sqlite3 *db)
{
	const char *wal;
	struct stat st;

	if (db == NULL)
		return;
	wal = sqlite3_filename_wal(sqlite3_db_filename(db, "main"));
	/* Best effort: when another connection is busy it is skipped and a
	 * later close does it. */
	if (wal != NULL && stat(wal, &st) == 0 && st.st_size > WAL_CHECKPOINT_BYTES)
		sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	sqlite3_close(db);
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

static void iso_from_time(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.000Z", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Two decimals are plenty for Mbps and ms and keep JSON readable. */
static void bind_measure(sqlite3_stmt *st, int idx, double v)
{
	if (isfinite(v))
		sqlite3_bind_double(st, idx, round(v * 100.0) / 100.0);
	else
		sqlite3_bind_null(st, idx);
}

static void bind_grade(sqlite3_stmt *st, int idx, enum lqos_grade g)
{
	const char *name = lqos_grade_name(g);

	if (name)
		sqlite3_bind_text(st, idx, name, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, idx);
}

static void bind_score(sqlite3_stmt *st, int idx, int score)
{
	if (score >= 0)
		sqlite3_bind_int(st, idx, score);
	else
		sqlite3_bind_null(st, idx);
}

/* Within the write transaction: how many results this IP stored in the
 * last hour, and when the oldest of them leaves the window. */
static int check_rate(sqlite3 *db, const char *ip, long limit, long *retry_after)
{
	char since[64];
	sqlite3_stmt *st;
	time_t now = time(NULL);
	long count = 0;
	int rc;

	iso_from_time(now - 3600, since, sizeof(since));
	rc = sqlite3_prepare_v2(db,
				"SELECT count(*), min(timestamp) FROM test_results "
				"WHERE client_ip = ?1 AND timestamp >= ?2",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, ip, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, since, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return -1;
	}
	count = (long)sqlite3_column_int64(st, 0);
	*retry_after = 60;
	if (count >= limit && sqlite3_column_type(st, 1) == SQLITE_TEXT) {
		struct tm tm = {0};
		const char *oldest = (const char *)sqlite3_column_text(st, 1);
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
	sqlite3_finalize(st);
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
	"?19, ?20, ?21, ?22, ?23, ?24, ?25, lqos_ip_blob(?4))";

static int insert_row(sqlite3 *db, const struct lqos_store_insert_args *a, sqlite3_int64 id,
		      const char *test_id, const char *timestamp)
{
	const struct lqos_result *r = a->result;
	const char *server = r->server_name[0] ? r->server_name : a->server_name;
	json_t *details = lqos_result_details_json(r);
	char *details_text = json_dumps(details, JSON_COMPACT | JSON_REAL_PRECISION(15));
	sqlite3_stmt *st = NULL;
	int rc;

	json_decref(details);
	rc = sqlite3_prepare_v2(db, insert_sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, test_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, timestamp, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, a->client_ip, -1, SQLITE_STATIC);
	if (a->user_agent)
		sqlite3_bind_text(st, 5, a->user_agent, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, lqos_test_type_name(r->type), -1, SQLITE_STATIC);
	bind_measure(st, 7, r->download_mbps);
	bind_measure(st, 8, r->upload_mbps);
	bind_measure(st, 9, r->baseline_latency_ms);
	bind_measure(st, 10, r->phase[LQOS_PHASE_DOWNLOAD].latency_increase_ms);
	bind_measure(st, 11, r->phase[LQOS_PHASE_UPLOAD].latency_increase_ms);
	bind_measure(st, 12, r->phase[LQOS_PHASE_BIDIRECTIONAL].latency_increase_ms);
	bind_score(st, 13, r->single_user_score);
	bind_grade(st, 14, r->phase_grade[LQOS_PHASE_DOWNLOAD]);
	bind_grade(st, 15, r->phase_grade[LQOS_PHASE_UPLOAD]);
	bind_grade(st, 16, r->phase_grade[LQOS_PHASE_BIDIRECTIONAL]);
	bind_grade(st, 17, r->overall_grade);
	bind_score(st, 18, r->household_score);
	bind_grade(st, 19, r->user_grade[LQOS_USER_ALEX]);
	bind_grade(st, 20, r->user_grade[LQOS_USER_SARAH]);
	bind_grade(st, 21, r->user_grade[LQOS_USER_JAKE]);
	bind_grade(st, 22, r->user_grade[LQOS_USER_COMPUTER]);
	if (server && server[0])
		sqlite3_bind_text(st, 23, server, -1, SQLITE_STATIC);
	bind_measure(st, 24, r->test_duration_seconds);
	if (details_text)
		sqlite3_bind_text(st, 25, details_text, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
out:
	sqlite3_finalize(st);
	free(details_text);
	return rc;
}

/* Keep exactly the newest max rows, whatever gaps hand deletions left in
 * the ids: the row count is kept by triggers (migration 5), and only the
 * rows over max are deleted, oldest first along the id index. After the
 * first insert that is one row: the cost depends on neither the table's
 * size nor max. */
static int prune(sqlite3 *db, long max)
{
	sqlite3_stmt *st = NULL;
	long count = 0;
	int rc = query_long(db, "SELECT n FROM test_results_count", &count);

	if (rc != SQLITE_OK || count <= max)
		return rc;
	if (sqlite3_prepare_v2(db,
			       "DELETE FROM test_results WHERE id IN "
			       "(SELECT id FROM test_results ORDER BY id LIMIT ?1)",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_bind_int64(st, 1, count - max) == SQLITE_OK)
		rc = sqlite3_step(st);
	else
		rc = sqlite3_errcode(db);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
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
static int idem_lookup(sqlite3 *db, const struct lqos_store_insert_args *a,
		       char test_id[LQOS_TEST_ID_LEN], char timestamp[LQOS_TIMESTAMP_LEN])
{
	sqlite3_stmt *st = NULL;
	int rc, found = -1;

	if (sqlite3_prepare_v2(db,
			       "SELECT test_id, timestamp, request_sha256 FROM submission_keys "
			       "WHERE idem_key = ?1 AND client_ip = ?2",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, a->idem_key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, a->client_ip, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		found = 0;
	} else if (rc == SQLITE_ROW) {
		const char *sha = (const char *)sqlite3_column_text(st, 2);
		snprintf(test_id, LQOS_TEST_ID_LEN, "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(timestamp, LQOS_TIMESTAMP_LEN, "%s",
			 (const char *)sqlite3_column_text(st, 1));
		found = sha != NULL && a->request_sha256 != NULL &&
					strcmp(sha, a->request_sha256) == 0
				? 1
				: 2;
	}
	sqlite3_finalize(st);
	return found;
}

#define QUOTE_(x) #x
#define QUOTE(x) QUOTE_(x)
#define IDEM_KEY_SECONDS_SQL QUOTE(LQOS_IDEM_KEY_SECONDS)

/* Within the write transaction: remember the key's answer, and forget
 * keys older than LQOS_IDEM_KEY_SECONDS (along the created_at index). */
static int idem_remember(sqlite3 *db, const struct lqos_store_insert_args *a, const char *test_id,
			 const char *timestamp)
{
	sqlite3_stmt *st = NULL;
	int rc = exec_sql(db, "DELETE FROM submission_keys WHERE created_at < "
			      "CAST(strftime('%s', 'now') AS INTEGER) - " IDEM_KEY_SECONDS_SQL);

	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_prepare_v2(db,
				"INSERT INTO submission_keys (idem_key, client_ip, client_ip_bin, "
				"request_sha256, test_id, timestamp, created_at) VALUES "
				"(?1, ?2, lqos_ip_blob(?2), ?3, ?4, ?5, ?6)",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_text(st, 1, a->idem_key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, a->client_ip, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, a->request_sha256 ? a->request_sha256 : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, test_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, timestamp, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)time(NULL));
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

enum lqos_store_status lqos_store_insert(sqlite3 *db, const struct lqos_store_insert_args *a,
					 char test_id[LQOS_TEST_ID_LEN],
					 char timestamp[LQOS_TIMESTAMP_LEN], long *retry_after,
					 char *why, size_t whylen)
{
	long max_id = 0;
	sqlite3_int64 id;
	int limited;

	if (exec_sql(db, "BEGIN IMMEDIATE") != SQLITE_OK) {
		describe_error(db, sqlite3_db_filename(db, "main"), "starting a write", why,
			       whylen);
		return LQOS_STORE_UNAVAILABLE;
	}
	if (a->idem_key != NULL) {
		int seen = idem_lookup(db, a, test_id, timestamp);
		if (seen < 0)
			goto fail;
		if (seen > 0) {
			exec_sql(db, "ROLLBACK");
			return seen == 1 ? LQOS_STORE_REPEAT : LQOS_STORE_KEY_REUSED;
		}
	}
	if (a->max_per_ip_per_hour > 0) {
		limited = check_rate(db, a->client_ip, a->max_per_ip_per_hour, retry_after);
		if (limited != 0) {
			exec_sql(db, "ROLLBACK");
			if (limited > 0)
				return LQOS_STORE_RATE_LIMITED;
			describe_error(db, sqlite3_db_filename(db, "main"),
				       "checking the rate limit", why, whylen);
			return LQOS_STORE_UNAVAILABLE;
		}
	}
	if (query_long(db, "SELECT coalesce(max(id), 0) FROM test_results", &max_id) != SQLITE_OK)
		goto fail;
	id = (sqlite3_int64)max_id + 1;
	lqos_store_now(timestamp);
	snprintf(test_id, LQOS_TEST_ID_LEN, "isp_%lld_%lld", (long long)time(NULL), (long long)id);
	if (insert_row(db, a, id, test_id, timestamp) != SQLITE_OK)
		goto fail;
	if (a->hook != NULL && a->hook(db, test_id, timestamp, a->hook_ctx, why, whylen) != 0) {
		exec_sql(db, "ROLLBACK");
		return LQOS_STORE_UNAVAILABLE;
	}
	if (a->idem_key != NULL && idem_remember(db, a, test_id, timestamp) != SQLITE_OK)
		goto fail;
	if (prune(db, a->max_stored_tests) != SQLITE_OK)
		goto fail;
	if (exec_sql(db, "COMMIT") != SQLITE_OK)
		goto fail;
	lqos_timing("insert_commit");
	if (sync_wal(db) != 0) {
		snprintf(why, whylen,
			 "telemetry database: the result could not be flushed to disk: %s",
			 strerror(errno));
		return LQOS_STORE_UNAVAILABLE;
	}
	lqos_timing("disk_flush");
	return LQOS_STORE_OK;
fail:
	describe_error(db, sqlite3_db_filename(db, "main"), "storing the result", why, whylen);
	exec_sql(db, "ROLLBACK");
	return LQOS_STORE_UNAVAILABLE;
}

int lqos_store_stats(sqlite3 *db, json_t *obj, char *why, size_t whylen)
{
	long total = 0, unique = 0, single = 0, household = 0;
	sqlite3_stmt *st;

	if (query_long(db, "SELECT count(*) FROM test_results", &total) != SQLITE_OK ||
	    query_long(db, "SELECT count(DISTINCT client_ip) FROM test_results", &unique) !=
		    SQLITE_OK ||
	    query_long(db, "SELECT count(*) FROM test_results WHERE test_type = 'single_user'",
		       &single) != SQLITE_OK ||
	    query_long(db,
		       "SELECT count(*) FROM test_results WHERE test_type = 'virtual_household'",
		       &household) != SQLITE_OK) {
		describe_error(db, NULL, "counting results", why, whylen);
		return -1;
	}
	json_object_set_new(obj, "total_tests_stored", json_integer(total));
	json_object_set_new(obj, "unique_client_ips", json_integer(unique));
	json_object_set_new(obj, "single_user_tests", json_integer(single));
	json_object_set_new(obj, "virtual_household_tests", json_integer(household));
	if (sqlite3_prepare_v2(db, "SELECT timestamp FROM test_results ORDER BY id DESC LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK) {
		describe_error(db, NULL, "reading results", why, whylen);
		return -1;
	}
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_TEXT)
		json_object_set_new(obj, "last_test_time",
				    json_string((const char *)sqlite3_column_text(st, 0)));
	else
		json_object_set_new(obj, "last_test_time", json_null());
	sqlite3_finalize(st);
	return 0;
}

char *lqos_store_meta_get(sqlite3 *db, const char *key)
{
	sqlite3_stmt *st;
	char *value = NULL;

	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?1", -1, &st, NULL) !=
	    SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		value = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return value;
}

int lqos_store_meta_set(sqlite3 *db, const char *key, const char *value)
{
	return lqos_store_meta_change(db, key, value) < 0 ? -1 : 0;
}

int lqos_store_meta_change(sqlite3 *db, const char *key, const char *value)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db,
				    "INSERT INTO meta (key, value) VALUES (?1, ?2) "
				    "ON CONFLICT(key) DO UPDATE SET value = excluded.value "
				    "WHERE meta.value IS NOT excluded.value",
				    -1, &st, NULL);

	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -1;
	return sqlite3_changes(db) > 0 ? 1 : 0;
}

json_t *lqos_store_test(sqlite3 *db, const char *test_id, char *why, size_t whylen)
{
	sqlite3_stmt *st;
	json_t *rows, *row, *details = NULL;
	int rc;

	why[0] = '\0';
	if (sqlite3_prepare_v2(db,
			       "SELECT " ROW_COLUMNS ", details_json FROM test_results "
			       "WHERE test_id = ?1",
			       -1, &st, NULL) != SQLITE_OK) {
		describe_error(db, NULL, "reading results", why, whylen);
		return NULL;
	}
	sqlite3_bind_text(st, 1, test_id, -1, SQLITE_STATIC);
	rows = lqos_rows_json(st);
	if (rows == NULL)
		describe_error(db, sqlite3_db_filename(db, "main"), "reading results", why, whylen);
	sqlite3_finalize(st);
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
	rc = json_object_set_new(row, "details", details ? details : json_null());
	(void)rc;
	return row;
}

/* The statements of an erasure: each counts (dry run) or deletes the
 * matching rows of one table, ?1 and ?2 the blob range. Webhook events
 * are matched by the address in their payload (central events hold no
 * address); the stored test's id would miss events whose row retention
 * has already pruned. */
#define ERASE_TESTS "FROM test_results WHERE client_ip_bin BETWEEN ?1 AND ?2"
#define ERASE_OUTBOX                                                                               \
	"FROM webhook_outbox WHERE target = 'webhook' AND "                                        \
	"lqos_ip_blob(json_extract(payload, '$.client_ip')) BETWEEN ?1 AND ?2"
#define ERASE_KEYS "FROM submission_keys WHERE client_ip_bin BETWEEN ?1 AND ?2"

static int erase_step(sqlite3 *db, const char *sql, const uint8_t *lo, const uint8_t *hi,
		      size_t len, long *count)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_blob(st, 1, lo, (int)len, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, hi, (int)len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && count != NULL) {
		*count = (long)sqlite3_column_int64(st, 0);
		rc = SQLITE_DONE;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int erase_count(sqlite3 *db, const uint8_t *lo, const uint8_t *hi, size_t len,
		       struct lqos_erase_counts *c)
{
	int rc = erase_step(db, "SELECT count(*) " ERASE_TESTS, lo, hi, len, &c->tests);

	if (rc == SQLITE_OK)
		rc = erase_step(db, "SELECT count(*) " ERASE_OUTBOX " AND state = 'pending'", lo,
				hi, len, &c->outbox_pending);
	if (rc == SQLITE_OK)
		rc = erase_step(db, "SELECT count(*) " ERASE_OUTBOX " AND state != 'pending'", lo,
				hi, len, &c->outbox_settled);
	if (rc == SQLITE_OK)
		rc = erase_step(db, "SELECT count(*) " ERASE_KEYS, lo, hi, len,
				&c->submission_keys);
	return rc;
}

static int erase_delete(sqlite3 *db, const uint8_t *lo, const uint8_t *hi, size_t len)
{
	int rc = erase_step(db, "DELETE " ERASE_TESTS, lo, hi, len, NULL);

	if (rc == SQLITE_OK)
		rc = erase_step(db, "DELETE " ERASE_OUTBOX, lo, hi, len, NULL);
	if (rc == SQLITE_OK)
		rc = erase_step(db, "DELETE " ERASE_KEYS, lo, hi, len, NULL);
	return rc;
}

int lqos_store_erase(sqlite3 *db, const uint8_t *lo, const uint8_t *hi, size_t blob_len,
		     bool dry_run, struct lqos_erase_counts *counts, char *why, size_t whylen)
{
	const char *path = sqlite3_db_filename(db, "main");

	memset(counts, 0, sizeof(*counts));
	if (exec_sql(db, "BEGIN IMMEDIATE") != SQLITE_OK) {
		describe_error(db, path, "starting the erasure", why, whylen);
		return -1;
	}
	if (erase_count(db, lo, hi, blob_len, counts) != SQLITE_OK ||
	    (!dry_run && erase_delete(db, lo, hi, blob_len) != SQLITE_OK) ||
	    exec_sql(db, dry_run ? "ROLLBACK" : "COMMIT") != SQLITE_OK) {
		describe_error(db, path, "erasing", why, whylen);
		exec_sql(db, "ROLLBACK");
		return -1;
	}
	return 0;
}
