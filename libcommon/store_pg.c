/* The PostgreSQL back end (libpq): several test servers, one database.
 * Every statement goes through PQexecParams with the unnamed statement,
 * so it works through PgBouncer in transaction pooling mode (which does
 * not keep named prepared statements across transactions). */
#include "store_backend.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "migrations.h"

/* pg_advisory_xact_lock keys: "lqos" and a use. */
#define LOCK_CLASS 0x6c716f73
#define LOCK_MIGRATE 1
#define CONNECT_TIMEOUT "5"

/* Type oids from pg_type.h (server headers are not needed for these). */
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_OID 26
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_NUMERIC 1700
#define OID_BYTEA 17

struct pg_db {
	struct lqos_db base;
	PGconn *conn;
	char where[512]; /* the URL, redacted, for messages */
	char error[512]; /* the last statement's error */
};

struct pg_cursor {
	struct lqos_cursor base;
	PGresult *res;
	int row; /* the current row; -1 before the first */
};

static const struct lqos_store_ops pg_ops;

static struct pg_db *pgh(struct lqos_db *db)
{
	return (struct pg_db *)db;
}

/* libpq messages end with a newline and may span lines: one line. */
static void one_line(char *dst, size_t len, const char *msg)
{
	size_t o = 0;

	for (const char *p = msg ? msg : ""; *p && o + 1 < len; p++)
		dst[o++] = (*p == '\n' || *p == '\r' || *p == '\t') ? ' ' : *p;
	while (o > 0 && dst[o - 1] == ' ')
		o--;
	dst[o] = '\0';
}

static void remember_error(struct pg_db *h, const PGresult *res)
{
	const char *msg = res ? PQresultErrorMessage(res) : NULL;

	if (msg == NULL || msg[0] == '\0')
		msg = PQerrorMessage(h->conn);
	one_line(h->error, sizeof(h->error), msg);
}

/* ?N (the SQL written for both back ends) to $N. None of our SQL has a
 * ? inside a string literal. Returns a malloc'd string or NULL. */
static char *dollar_params(const char *sql)
{
	char *out = strdup(sql);

	if (out == NULL)
		return NULL;
	for (char *p = out; *p; p++)
		if (*p == '?' && p[1] >= '0' && p[1] <= '9')
			*p = '$';
	return out;
}

/* Run `sql` with `p`; the result, or NULL with h->error set. */
static PGresult *run(struct pg_db *h, const char *sql, const struct lqos_param *p, int n)
{
	const char *values[32];
	int lengths[32], formats[32];
	char text[32][32];
	char *converted;
	PGresult *res;
	ExecStatusType st;

	if (n > 32) {
		snprintf(h->error, sizeof(h->error), "too many parameters");
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		lengths[i] = 0;
		formats[i] = 0;
		switch (p[i].type) {
		case LQOS_VAL_NULL: values[i] = NULL; break;
		case LQOS_VAL_INT:
			snprintf(text[i], sizeof(text[i]), "%lld", p[i].i);
			values[i] = text[i];
			break;
		case LQOS_VAL_REAL:
			snprintf(text[i], sizeof(text[i]), "%.17g", p[i].d);
			values[i] = text[i];
			break;
		case LQOS_VAL_TEXT: values[i] = p[i].s; break;
		case LQOS_VAL_BLOB:
			values[i] = p[i].s;
			lengths[i] = (int)p[i].len;
			formats[i] = 1;
			break;
		}
	}
	converted = dollar_params(sql);
	if (converted == NULL) {
		snprintf(h->error, sizeof(h->error), "out of memory");
		return NULL;
	}
	res = PQexecParams(h->conn, converted, n, NULL, values, lengths, formats, 0);
	free(converted);
	st = PQresultStatus(res);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		remember_error(h, res);
		PQclear(res);
		return NULL;
	}
	h->error[0] = '\0';
	return res;
}

static struct lqos_cursor *pg_query(struct lqos_db *db, const char *sql, const struct lqos_param *p,
				    int n)
{
	PGresult *res = run(pgh(db), sql, p, n);
	struct pg_cursor *c;

	if (res == NULL)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		PQclear(res);
		return NULL;
	}
	c->base.ops = &pg_ops;
	c->res = res;
	c->row = -1;
	return &c->base;
}

static int pg_exec(struct lqos_db *db, const char *sql, const struct lqos_param *p, int n,
		   long long *changes)
{
	PGresult *res = run(pgh(db), sql, p, n);

	if (res == NULL)
		return -1;
	if (changes != NULL)
		*changes = atoll(PQcmdTuples(res));
	PQclear(res);
	return 0;
}

/* A transaction control statement; COMMIT of a failed transaction
 * answers ROLLBACK, which is a failure here. */
static int control(struct pg_db *h, const char *sql, const char *expect)
{
	PGresult *res = PQexec(h->conn, sql);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(res), expect) == 0;

	if (!ok) {
		remember_error(h, res);
		if (h->error[0] == '\0')
			snprintf(h->error, sizeof(h->error), "the transaction was rolled back");
	}
	PQclear(res);
	return ok ? 0 : -1;
}

static int pg_begin(struct lqos_db *db)
{
	return control(pgh(db), "BEGIN", "BEGIN");
}

static int pg_commit(struct lqos_db *db)
{
	return control(pgh(db), "COMMIT", "COMMIT");
}

static void pg_rollback(struct lqos_db *db)
{
	struct pg_db *h = pgh(db);
	char keep[sizeof(h->error)];

	/* Keep the error that made us roll back. */
	memcpy(keep, h->error, sizeof(keep));
	PQclear(PQexec(h->conn, "ROLLBACK"));
	memcpy(h->error, keep, sizeof(keep));
}

static void pg_describe(struct lqos_db *db, const char *what, char *why, size_t whylen)
{
	struct pg_db *h = pgh(db);

	if (PQstatus(h->conn) == CONNECTION_BAD)
		snprintf(why, whylen,
			 "telemetry database (PostgreSQL %s) unreachable while %s: %s; the "
			 "server retries on the next request",
			 h->where, what, h->error[0] ? h->error : "connection lost");
	else
		snprintf(why, whylen, "telemetry database error while %s: %s", what,
			 h->error[0] ? h->error : "unknown");
}

static int pg_lock_key(struct lqos_db *db, const char *key)
{
	struct lqos_param p[2] = {lqos_p_int(LOCK_CLASS), lqos_p_text(key)};

	return pg_exec(db, "SELECT pg_advisory_xact_lock(?1::integer, hashtext(?2))", p, 2, NULL);
}

static void pg_close(struct lqos_db *db)
{
	PQfinish(pgh(db)->conn);
	free(db);
}

static struct pg_cursor *pc(struct lqos_cursor *c)
{
	return (struct pg_cursor *)c;
}

static int pg_next(struct lqos_cursor *c)
{
	if (pc(c)->row + 1 >= PQntuples(pc(c)->res))
		return 0;
	pc(c)->row++;
	return 1;
}

static int pg_ncols(struct lqos_cursor *c)
{
	return PQnfields(pc(c)->res);
}

static const char *pg_col_name(struct lqos_cursor *c, int i)
{
	return PQfname(pc(c)->res, i);
}

static enum lqos_val pg_col_type(struct lqos_cursor *c, int i)
{
	if (PQgetisnull(pc(c)->res, pc(c)->row, i))
		return LQOS_VAL_NULL;
	switch (PQftype(pc(c)->res, i)) {
	case OID_INT8:
	case OID_INT2:
	case OID_INT4:
	case OID_OID: return LQOS_VAL_INT;
	case OID_FLOAT4:
	case OID_FLOAT8:
	case OID_NUMERIC: return LQOS_VAL_REAL;
	case OID_BYTEA: return LQOS_VAL_BLOB;
	default: return LQOS_VAL_TEXT;
	}
}

static long long pg_col_int(struct lqos_cursor *c, int i)
{
	return strtoll(PQgetvalue(pc(c)->res, pc(c)->row, i), NULL, 10);
}

static double pg_col_real(struct lqos_cursor *c, int i)
{
	return strtod(PQgetvalue(pc(c)->res, pc(c)->row, i), NULL);
}

static const unsigned char *pg_col_text(struct lqos_cursor *c, int i, size_t *len)
{
	if (len != NULL)
		*len = (size_t)PQgetlength(pc(c)->res, pc(c)->row, i);
	return (const unsigned char *)PQgetvalue(pc(c)->res, pc(c)->row, i);
}

static void pg_cursor_free(struct lqos_cursor *c)
{
	PQclear(pc(c)->res);
	free(c);
}

static const struct lqos_store_ops pg_ops = {
	.name = "postgresql",
	.conn = {pg_close, pg_query, pg_exec, pg_describe, pg_lock_key},
	.txn = {pg_begin, NULL, pg_commit, pg_rollback},
	.sql =
		{
			.next_id_sql = "SELECT nextval('test_results_id_seq')",
			.claim_lock_clause = " FOR UPDATE SKIP LOCKED",
			/* inet_send: family, bits, is_cidr, length, then the
			 * address bytes; the blob form is 4 or 6, then the same bytes. */
			.payload_ip_blob_sql =
				"(CASE family((payload::json->>'client_ip')::inet) WHEN 4 THEN "
				"'\\x04'::bytea "
				"ELSE '\\x06'::bytea END || "
				"substring(inet_send((payload::json->>'client_ip')::inet) from 5))",
		},
	.cursor = {pg_next, pg_ncols, pg_col_name, pg_col_type, pg_col_int, pg_col_real,
		   pg_col_text, pg_cursor_free},
};

static int schema_version(struct pg_db *h, long long *v)
{
	*v = 0;
	return lqos_db_long(&h->base, "SELECT max(version) FROM lqos_schema_version", NULL, 0, v) <
			       0
		       ? -1
		       : 0;
}

/* Every migration above the recorded version in one transaction under an
 * advisory lock: of several servers starting at once, one migrates and
 * the others wait, then find nothing left to do. */
static int migrate(struct pg_db *h, char *why, size_t whylen)
{
	int latest = lqos_pg_migrations[lqos_pg_migrations_count - 1].version;
	long long version = 0;
	struct lqos_param p;
	PGresult *res;

	/* The usual case costs one query and takes no lock. */
	if (schema_version(h, &version) == 0 && version >= latest)
		return 0;
	if (pg_begin(&h->base) != 0)
		goto fail;
	p = lqos_p_int(((long long)LOCK_CLASS << 32) | LOCK_MIGRATE);
	if (pg_exec(&h->base, "SELECT pg_advisory_xact_lock(?1::bigint)", &p, 1, NULL) != 0 ||
	    pg_exec(&h->base,
		    "CREATE TABLE IF NOT EXISTS lqos_schema_version (version INTEGER NOT NULL)",
		    NULL, 0, NULL) != 0 ||
	    schema_version(h, &version) != 0)
		goto fail;
	for (unsigned i = 0; i < lqos_pg_migrations_count; i++) {
		const struct lqos_migration *m = &lqos_pg_migrations[i];
		if (m->version <= version)
			continue;
		res = PQexec(h->conn, m->sql);
		if (PQresultStatus(res) != PGRES_COMMAND_OK &&
		    PQresultStatus(res) != PGRES_TUPLES_OK) {
			remember_error(h, res);
			PQclear(res);
			snprintf(why, whylen,
				 "telemetry database (PostgreSQL %s): migration %s failed: %s",
				 h->where, m->name, h->error);
			pg_rollback(&h->base);
			return -1;
		}
		PQclear(res);
		p = lqos_p_int(m->version);
		if (pg_exec(&h->base, "DELETE FROM lqos_schema_version", NULL, 0, NULL) != 0 ||
		    pg_exec(&h->base, "INSERT INTO lqos_schema_version (version) VALUES (?1)", &p,
			    1, NULL) != 0)
			goto fail;
	}
	if (pg_commit(&h->base) != 0)
		goto fail;
	return 0;
fail:
	pg_describe(&h->base, "upgrading the schema", why, whylen);
	pg_rollback(&h->base);
	return -1;
}

struct lqos_db *lqos_store_open_pg(const char *url, char *why, size_t whylen)
{
	/* Ours first: the URL's own values override them. */
	const char *keys[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
	const char *values[] = {CONNECT_TIMEOUT, "lqos-telemetry", url, NULL};
	struct pg_db *h = calloc(1, sizeof(*h));
	char msg[512];

	if (h == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	h->base.ops = &pg_ops;
	lqos_url_redact(url, h->where, sizeof(h->where));
	h->conn = PQconnectdbParams(keys, values, 1);
	if (h->conn == NULL || PQstatus(h->conn) != CONNECTION_OK) {
		one_line(msg, sizeof(msg), h->conn ? PQerrorMessage(h->conn) : "out of memory");
		snprintf(why, whylen,
			 "telemetry database (PostgreSQL %s) cannot be used: %s (check "
			 "database_url, "
			 "that the server runs, and the password in the passfile of the web "
			 "server user)",
			 h->where, msg);
		PQfinish(h->conn);
		free(h);
		return NULL;
	}
	if (migrate(h, why, whylen) != 0) {
		PQfinish(h->conn);
		free(h);
		return NULL;
	}
	return &h->base;
}
