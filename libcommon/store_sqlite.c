/* The SQLite back end: one file, WAL, the default. */
#include "store_sqlite.h"

#include "store_backend.h"

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

#define BUSY_TIMEOUT_MS 10000
/* Checkpoint once the WAL holds this many frames (256 KiB of 4 KiB pages). */
#define WAL_CHECKPOINT_FRAMES 64

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

struct lite_db {
	struct lqos_db base;
	sqlite3 *db;
	int wal_frames; /* frames in the WAL after this connection's last commit */
};

struct lite_cursor {
	struct lqos_cursor base;
	sqlite3_stmt *st;
	sqlite3 *db;
};

static const struct lqos_store_ops lite_ops;

static sqlite3 *lite(struct lqos_db *db)
{
	return ((struct lite_db *)db)->db;
}

sqlite3 *lqos_store_sqlite(struct lqos_db *db)
{
	return db != NULL && db->ops == &lite_ops ? lite(db) : NULL;
}

/* SQLite calls this after each commit with the number of frames in the
 * WAL; lite_close() checkpoints when it passes WAL_CHECKPOINT_FRAMES. */
static int wal_frames_hook(void *ctx, sqlite3 *db, const char *schema, int frames)
{
	(void)db;
	(void)schema;
	((struct lite_db *)ctx)->wal_frames = frames;
	return SQLITE_OK;
}

struct lqos_db *lqos_store_sqlite_open(const char *path, char *why, size_t whylen)
{
	sqlite3 *db = NULL;
	struct lite_db *h;
	int rc;

	if (path == NULL || path[0] != '/') {
		snprintf(why, whylen, "database_path must be an absolute path");
		return NULL;
	}
	if (make_parent_dirs(path, why, whylen) != 0)
		return NULL;
	/* Nothing reads SQLite's memory statistics: without them its
	 * allocator takes no global mutex (SQLITE_MISUSE, ignored, once
	 * SQLite is initialised: a second open in one process). */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	/* No up-front bulk of 20 page buffers: a submission touches fewer,
	 * and every page of memory first touched is a page fault. */
	sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
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
	 * WAL file is kept, and lite_close() checkpoints once it holds
	 * WAL_CHECKPOINT_FRAMES: the checkpoint's fsyncs are paid every few
	 * submissions, and the WAL recovery each new process runs (a process
	 * that opens the database alone rebuilds the WAL index) stays small.
	 * The checkpoint restarts the WAL rather than truncating it, so the
	 * next commits overwrite frames already on disk: the file's size does
	 * not change and each submission's fdatasync() flushes data blocks
	 * only, no file-system journal commit (about half the time here). */
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
	/* A process reads each page about once (recent?limit=1000 scans
	 * ~220): a small cache reuses its buffers instead of faulting in
	 * fresh memory for every page; the kernel's page cache keeps them. */
	exec_sql(db, "PRAGMA cache_size = -256");
	if (migrate(db, path, why, whylen) != 0)
		goto fail;
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		snprintf(why, whylen, "out of memory");
		goto fail;
	}
	h->base.ops = &lite_ops;
	h->db = db;
	sqlite3_wal_hook(db, wal_frames_hook, h);
	return &h->base;
fail:
	sqlite3_close(db);
	return NULL;
}

/* Checkpoint, then restart the WAL with one small write (the schema
 * version, unchanged): the restart lives in the shared-memory index,
 * which the last connection to close takes with it, so without a write
 * the next process would find the old frames valid, keep appending and
 * never reuse the file. The write needs no flush: if the old header
 * survives a power cut instead, its frames are already in the database
 * file and replaying them changes nothing. */
static void restart_wal(sqlite3 *db)
{
	int log = -1, done = -1;
	char pragma[64];

	if (sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_RESTART, &log, &done) !=
		    SQLITE_OK ||
	    log != done)
		return;
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d",
		 (int)lqos_migrations[lqos_migrations_count - 1].version);
	exec_sql(db, pragma);
}

static void lite_close(struct lqos_db *h)
{
	sqlite3 *db = lite(h);

	/* Best effort: when another connection is busy it is skipped and a
	 * later writer's close does it. */
	if (((struct lite_db *)h)->wal_frames >= WAL_CHECKPOINT_FRAMES)
		restart_wal(db);
	sqlite3_close(db);
	free(h);
}

/* Parameters are numbered ?N in the SQL: bind each at its number. */
static int bind_params(sqlite3_stmt *st, const struct lqos_param *p, int n)
{
	for (int i = 0; i < n; i++) {
		int rc = SQLITE_OK;
		switch (p[i].type) {
		case LQOS_VAL_NULL: break;
		case LQOS_VAL_INT: rc = sqlite3_bind_int64(st, i + 1, p[i].i); break;
		case LQOS_VAL_REAL: rc = sqlite3_bind_double(st, i + 1, p[i].d); break;
		case LQOS_VAL_TEXT:
			rc = sqlite3_bind_text(st, i + 1, p[i].s, -1, SQLITE_STATIC);
			break;
		case LQOS_VAL_BLOB:
			rc = sqlite3_bind_blob(st, i + 1, p[i].s, (int)p[i].len, SQLITE_STATIC);
			break;
		}
		if (rc != SQLITE_OK && rc != SQLITE_RANGE)
			return rc;
	}
	return SQLITE_OK;
}

static struct lqos_cursor *lite_query(struct lqos_db *h, const char *sql,
				      const struct lqos_param *p, int n)
{
	sqlite3_stmt *st = NULL;
	struct lite_cursor *c;

	if (sqlite3_prepare_v2(lite(h), sql, -1, &st, NULL) != SQLITE_OK ||
	    bind_params(st, p, n) != SQLITE_OK) {
		sqlite3_finalize(st);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		sqlite3_finalize(st);
		return NULL;
	}
	c->base.ops = &lite_ops;
	c->st = st;
	c->db = lite(h);
	return &c->base;
}

static int lite_exec(struct lqos_db *h, const char *sql, const struct lqos_param *p, int n,
		     long long *changes)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(lite(h), sql, -1, &st, NULL);

	if (rc == SQLITE_OK)
		rc = bind_params(st, p, n);
	if (rc == SQLITE_OK)
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			;
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -1;
	if (changes != NULL)
		*changes = sqlite3_changes64(lite(h));
	return 0;
}

static int lite_begin(struct lqos_db *h)
{
	return exec_sql(lite(h), "BEGIN IMMEDIATE") == SQLITE_OK ? 0 : -1;
}

static int lite_commit(struct lqos_db *h)
{
	return exec_sql(lite(h), "COMMIT") == SQLITE_OK ? 0 : -1;
}

/* Durability: SQLite runs with synchronous=NORMAL, so COMMIT writes the
 * WAL frames without waiting for the disk and releases the write lock at
 * once; the submission then flushes the WAL itself before it answers
 * 200. Outside the lock, concurrent submissions wait for the disk
 * together (one journal commit serves them all) instead of one after the
 * other, as synchronous=FULL would make them. Frames another connection
 * has checkpointed meanwhile are safe without it (the checkpoint synced
 * the WAL, then the database file), and flushing a WAL a later writer has
 * restarted over them is harmless. Returns 0, or -1 (errno) when the
 * flush failed. */
static int lite_sync(struct lqos_db *h)
{
	const char *wal = sqlite3_filename_wal(sqlite3_db_filename(lite(h), "main"));
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

static void lite_rollback(struct lqos_db *h)
{
	exec_sql(lite(h), "ROLLBACK");
}

static void lite_describe(struct lqos_db *h, const char *what, char *why, size_t whylen)
{
	describe_error(lite(h), sqlite3_db_filename(lite(h), "main"), what, why, whylen);
}

static struct lite_cursor *lc(struct lqos_cursor *c)
{
	return (struct lite_cursor *)c;
}

static int lite_next(struct lqos_cursor *c)
{
	int rc = sqlite3_step(lc(c)->st);

	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int lite_ncols(struct lqos_cursor *c)
{
	return sqlite3_column_count(lc(c)->st);
}

static const char *lite_col_name(struct lqos_cursor *c, int i)
{
	return sqlite3_column_name(lc(c)->st, i);
}

static enum lqos_val lite_col_type(struct lqos_cursor *c, int i)
{
	switch (sqlite3_column_type(lc(c)->st, i)) {
	case SQLITE_INTEGER: return LQOS_VAL_INT;
	case SQLITE_FLOAT: return LQOS_VAL_REAL;
	case SQLITE_TEXT: return LQOS_VAL_TEXT;
	case SQLITE_BLOB: return LQOS_VAL_BLOB;
	default: return LQOS_VAL_NULL;
	}
}

static long long lite_col_int(struct lqos_cursor *c, int i)
{
	return sqlite3_column_int64(lc(c)->st, i);
}

static double lite_col_real(struct lqos_cursor *c, int i)
{
	return sqlite3_column_double(lc(c)->st, i);
}

static const unsigned char *lite_col_text(struct lqos_cursor *c, int i, size_t *len)
{
	const unsigned char *t = sqlite3_column_text(lc(c)->st, i);

	if (len != NULL)
		*len = (size_t)sqlite3_column_bytes(lc(c)->st, i);
	return t;
}

static void lite_cursor_free(struct lqos_cursor *c)
{
	sqlite3_finalize(lc(c)->st);
	free(c);
}

static const struct lqos_store_ops lite_ops = {
	.name = "sqlite",
	.conn = {lite_close, lite_query, lite_exec, lite_describe, NULL},
	.txn = {lite_begin, lite_sync, lite_commit, lite_rollback},
	.sql =
		{
			.next_id_sql = "SELECT coalesce(max(id), 0) + 1 FROM test_results",
			.claim_lock_clause = "",
			.payload_ip_blob_sql = "lqos_ip_blob(json_extract(payload, '$.client_ip'))",
		},
	.cursor = {lite_next, lite_ncols, lite_col_name, lite_col_type, lite_col_int, lite_col_real,
		   lite_col_text, lite_cursor_free},
};
