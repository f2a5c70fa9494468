/* The telemetry store: schema and migrations, inserts with retention,
 * and the queries behind the support API. One seam, two back ends:
 * SQLite (store_sqlite.c, the default) and PostgreSQL (store_pg.c, when
 * database_url is set). Callers hold a struct lqos_db and never ask which
 * one they got. */
#ifndef LQOS_STORE_H
#define LQOS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include "config.h"
#include "result.h"

/* An open store (either back end). */
struct lqos_db;

#define LQOS_TEST_ID_LEN 64

/* The columns served by the support API: the guide's, then ours. */
#define LQOS_STORE_ROW_COLUMNS                                                                     \
	"id, test_id, timestamp, client_ip, user_agent, test_type, download_mbps, "                \
	"upload_mbps, baseline_latency_ms, download_latency_increase_ms, "                         \
	"upload_latency_increase_ms, bidirectional_latency_increase_ms, "                          \
	"single_user_score, download_grade, upload_grade, bidirectional_grade, "                   \
	"overall_grade, household_score, alex_grade, sarah_grade, jake_grade, "                    \
	"computer_grade, test_server_name, test_duration_seconds"

#define LQOS_TIMESTAMP_LEN 32

enum lqos_store_status {
	LQOS_STORE_OK = 0,
	LQOS_STORE_RATE_LIMITED,
	LQOS_STORE_UNAVAILABLE,
	LQOS_STORE_REPEAT, /* the idempotency key was stored: first test_id given */
	LQOS_STORE_KEY_REUSED, /* the key was stored with a different body */
};

/* Idempotency keys (Idempotency-Key): 16..128 characters of A-Z a-z 0-9
 * '-' '_'. Kept a day. */
#define LQOS_IDEM_KEY_MIN 16
#define LQOS_IDEM_KEY_MAX 128
#define LQOS_IDEM_KEY_SECONDS 86400

/* True when `key` is a well-formed idempotency key. */
bool lqos_store_idem_key_valid(const char *key);

/* Open the store the configuration names: PostgreSQL when database_url
 * is set, else the SQLite file at database_path. Migrations applied.
 * Returns the handle (close with lqos_store_close), or NULL with a
 * message an operator can act on in `why` (never a password). */
struct lqos_db *lqos_store_connect(const struct lqos_config *cfg, char *why, size_t whylen);

/* Open (creating the directory, the file and the schema as needed) the
 * SQLite database at `path`: WAL journal, busy timeout, migrations
 * applied. NULL with `why` on failure. */
struct lqos_db *lqos_store_open(const char *path, char *why, size_t whylen);

/* Connect to PostgreSQL (`url`: a libpq URI or keyword string) and apply
 * the migrations under an advisory lock. NULL with `why` on failure. */
struct lqos_db *lqos_store_open_pg(const char *url, char *why, size_t whylen);

/* In programs built without the PostgreSQL back end (store_pg_handoff.c,
 * the CGI programs): when `cfg` sets database_url, replace this process
 * with the twin built with it (execv, same environment and stdin); returns
 * only when that was not possible (lqos_store_open_pg then says why).
 * Called before any of the request is read. Other programs do not define
 * it (app.c references it weakly). */
void lqos_store_pg_handoff(const struct lqos_config *cfg);

void lqos_store_close(struct lqos_db *db);

/* The last error as an operator's message, `what` naming the operation. */
void lqos_store_describe(struct lqos_db *db, const char *what, char *why, size_t whylen);

/* "sqlite" or "postgresql". */
const char *lqos_store_kind(const struct lqos_db *db);

/* A test id unique across servers without coordination:
 * isp_<unix seconds>_<63 random bits in decimal>, the guide's shape
 * isp_<digits>_<digits>. */
void lqos_store_make_test_id(char out[LQOS_TEST_ID_LEN], long long unix_seconds);

/* Current UTC time as 2025-06-12T12:42:18.123Z. */
void lqos_store_now(char out[LQOS_TIMESTAMP_LEN]);

/* Called inside the insert's transaction, after the row is written, so
 * that dependent writes (the webhook outbox) commit or fail with it.
 * Returns 0, or -1 with `why` filled to roll everything back. */
typedef int (*lqos_store_hook)(struct lqos_db *db, const char *test_id, const char *timestamp,
			       void *ctx, char *why, size_t whylen);

struct lqos_store_insert_args {
	const struct lqos_result *result; /* graded */
	const char *client_ip; /* canonical */
	const char *user_agent; /* may be NULL */
	const char *server_name; /* test_server_name when the result has none */
	long max_stored_tests;
	long max_per_ip_per_hour; /* 0 = no limit */
	lqos_store_hook hook; /* may be NULL */
	void *hook_ctx;
	const char *idem_key; /* valid key, or NULL */
	const char *request_sha256; /* hex SHA-256 of the body, with idem_key */
};

/* Insert one graded result in one write transaction that also
 * enforces the per-IP limit, runs the hook and prunes to
 * max_stored_tests. On LQOS_STORE_OK fills test_id and timestamp. On
 * RATE_LIMITED sets *retry_after (seconds). On UNAVAILABLE fills why.
 * With idem_key: a key already stored for this client_ip gives REPEAT
 * with the first test_id and timestamp (nothing written, the limit not
 * counted), or KEY_REUSED when its body differed; a new key is stored
 * with the row. */
enum lqos_store_status lqos_store_insert(struct lqos_db *db,
					 const struct lqos_store_insert_args *args,
					 char test_id[LQOS_TEST_ID_LEN],
					 char timestamp[LQOS_TIMESTAMP_LEN], long *retry_after,
					 char *why, size_t whylen);

/* What lqos_store_erase found (and deleted unless it was a dry run). */
struct lqos_erase_counts {
	long tests; /* test_results rows */
	long outbox_pending; /* webhook events not yet delivered */
	long outbox_settled; /* delivered or failed webhook events */
	long submission_keys; /* idempotency keys */
};

/* Every stored test, webhook outbox event (any state: the payload holds
 * the address) and idempotency key of the addresses whose client_ip_bin
 * lies in [lo, hi] (blobs of `blob_len` bytes, see lqos_ip_blob), counted
 * and, unless dry_run, deleted, in one transaction. The row count of
 * migration 5 stays exact (its triggers). Returns 0, or -1 with `why`
 * (then nothing was deleted). */
int lqos_store_erase(struct lqos_db *db, const uint8_t *lo, const uint8_t *hi, size_t blob_len,
		     bool dry_run, struct lqos_erase_counts *counts, char *why, size_t whylen);

/* Counts for /api/telemetry/stats added to `obj`. Returns 0 or -1. */
int lqos_store_stats(struct lqos_db *db, json_t *obj, char *why, size_t whylen);

/* One row by test_id with its stored measurement summary as "details".
 * New object; NULL with why[0] == '\0' when there is no such test, NULL
 * with `why` on error. */
json_t *lqos_store_test(struct lqos_db *db, const char *test_id, char *why, size_t whylen);

/* Small key/value state. get returns a malloc'd string (caller frees)
 * or NULL. set returns 0 or -1. */
char *lqos_store_meta_get(struct lqos_db *db, const char *key);
int lqos_store_meta_set(struct lqos_db *db, const char *key, const char *value);

/* Set `key` to `value` only when it holds something else, atomically
 * (one statement), so that of several processes racing to record the
 * same change exactly one sees it. Returns 1 when this call changed it,
 * 0 when it already held `value`, -1 on error. */
int lqos_store_meta_change(struct lqos_db *db, const char *key, const char *value);

#endif
