/* What a storage back end provides to store.c, query.c, the outbox and
 * the metrics: parameterised SQL, a row cursor and transactions. The SQL
 * is written once with ?N parameters (the PostgreSQL back end turns them
 * into $N); what the dialects disagree on is a field of the ops. Only
 * libcommon includes this; everything else uses store.h. */
#ifndef LQOS_STORE_BACKEND_H
#define LQOS_STORE_BACKEND_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>

#include "store.h"

enum lqos_val {
	LQOS_VAL_NULL = 0,
	LQOS_VAL_INT,
	LQOS_VAL_REAL,
	LQOS_VAL_TEXT,
	LQOS_VAL_BLOB,
};

struct lqos_param {
	enum lqos_val type;
	long long i;
	double d;
	const char *s; /* TEXT: NUL-terminated; BLOB: `len` bytes */
	size_t len;
};

static inline struct lqos_param lqos_p_int(long long v)
{
	return (struct lqos_param){.type = LQOS_VAL_INT, .i = v};
}

/* NULL when `s` is NULL. */
static inline struct lqos_param lqos_p_text(const char *s)
{
	return (struct lqos_param){.type = s ? LQOS_VAL_TEXT : LQOS_VAL_NULL, .s = s};
}

/* NULL when not finite. */
static inline struct lqos_param lqos_p_real(double d)
{
	return (struct lqos_param){.type = isfinite(d) ? LQOS_VAL_REAL : LQOS_VAL_NULL, .d = d};
}

static inline struct lqos_param lqos_p_blob(const void *b, size_t len)
{
	return (struct lqos_param){.type = LQOS_VAL_BLOB, .s = b, .len = len};
}

static inline struct lqos_param lqos_p_null(void)
{
	return (struct lqos_param){.type = LQOS_VAL_NULL};
}

struct lqos_cursor;

/* The SQL a back end spells its own way. */
struct lqos_dialect {
	/* The next test_results.id (one value). */
	const char *next_id_sql;
	/* Appended to the outbox claim's inner SELECT. */
	const char *claim_lock_clause;
	/* A webhook event's client address (payload's client_ip) in the
	 * client_ip_bin form, as an SQL expression (erasure by prefix). */
	const char *payload_ip_blob_sql;
};

/* A cursor over a query's rows; values stay valid until the next row. */
struct lqos_cursor_ops {
	int (*next)(struct lqos_cursor *c); /* 1 row, 0 end, -1 error */
	int (*ncols)(struct lqos_cursor *c);
	const char *(*col_name)(struct lqos_cursor *c, int i);
	enum lqos_val (*col_type)(struct lqos_cursor *c, int i);
	long long (*col_int)(struct lqos_cursor *c, int i);
	double (*col_real)(struct lqos_cursor *c, int i);
	const unsigned char *(*col_text)(struct lqos_cursor *c, int i, size_t *len);
	void (*cursor_free)(struct lqos_cursor *c);
};

/* A back end's connection: statements, errors, cross-server locks. */
struct lqos_conn_ops {
	void (*close)(struct lqos_db *db);
	/* Run `sql`; the rows are read through the cursor. NULL on error
	 * (lqos_db_describe says why). */
	struct lqos_cursor *(*query)(struct lqos_db *db, const char *sql,
				     const struct lqos_param *p, int n);
	/* Run a statement without rows; *changes (may be NULL) gets the
	 * number of rows it changed. Returns 0 or -1. */
	int (*exec)(struct lqos_db *db, const char *sql, const struct lqos_param *p, int n,
		    long long *changes);
	/* An operator's message for the last error, `what` naming the
	 * operation ("storing the result"). */
	void (*describe)(struct lqos_db *db, const char *what, char *why, size_t whylen);
	/* Inside a write transaction: wait until no other transaction holds
	 * `key` (per-address limits across servers). SQLite's write lock
	 * already serialises everything: NULL. */
	int (*lock_key)(struct lqos_db *db, const char *key);
};

/* A write transaction. */
struct lqos_txn_ops {
	int (*begin)(struct lqos_db *db);
	/* After a submission's COMMIT, before it answers 200: make it
	 * durable (SQLite flushes its WAL outside the write lock); NULL when
	 * COMMIT already is (PostgreSQL). 0, or -1 with errno. */
	int (*sync)(struct lqos_db *db);
	int (*commit)(struct lqos_db *db);
	void (*rollback)(struct lqos_db *db);
};

struct lqos_store_ops {
	const char *name; /* "sqlite" or "postgresql" */
	/* The connection. */
	struct lqos_conn_ops conn;
	/* Write transactions. */
	struct lqos_txn_ops txn;
	/* Where the two SQL dialects differ. */
	struct lqos_dialect sql;
	/* Reading a query's rows. */
	struct lqos_cursor_ops cursor;
};

struct lqos_db {
	const struct lqos_store_ops *ops;
};

struct lqos_cursor {
	const struct lqos_store_ops *ops;
};

/* Thin wrappers so callers read like plain calls. */
struct lqos_cursor *lqos_db_query(struct lqos_db *db, const char *sql, const struct lqos_param *p,
				  int n);
int lqos_db_exec(struct lqos_db *db, const char *sql, const struct lqos_param *p, int n,
		 long long *changes);
void lqos_db_describe(struct lqos_db *db, const char *what, char *why, size_t whylen);
int lqos_cursor_next(struct lqos_cursor *c);
int lqos_cursor_ncols(struct lqos_cursor *c);
const char *lqos_cursor_name(struct lqos_cursor *c, int i);
enum lqos_val lqos_cursor_type(struct lqos_cursor *c, int i);
long long lqos_cursor_int(struct lqos_cursor *c, int i);
double lqos_cursor_real(struct lqos_cursor *c, int i);
/* NUL-terminated; `len` may be NULL. NULL for a NULL cell. */
const char *lqos_cursor_text(struct lqos_cursor *c, int i, size_t *len);
void lqos_cursor_free(struct lqos_cursor *c);

/* One integer from the first row's first column: 0 (found), 1 (no row or
 * NULL: *out untouched), -1 (error). */
int lqos_db_long(struct lqos_db *db, const char *sql, const struct lqos_param *p, int n,
		 long long *out);

/* The SQLite opener, for store.c. */
struct lqos_db *lqos_store_sqlite_open(const char *path, char *why, size_t whylen);

#endif
