/* Webhooks: the guide's payload field for field, the anonymised central
 * copy, both signatures against published vectors, the backoff schedule,
 * and the outbox (claim, lease, expiry, outcomes, bound) on a real
 * SQLite file. */
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "libcommon/config.h"
#include "libcommon/store_sqlite.h"
#include "libcommon/webhook_outbox.h"
#include "libcommon/result.h"
#include "libcommon/sha256.h"
#include "libcommon/store.h"
#include "libcommon/webhook.h"
#include "libcommon/webhook_spawn.h"
#include "testutil.h"

#define FIXTURE(name) LQOS_SRCDIR "/tests/fixtures/" name

static const char *const payload_keys[] = {
	"test_id",       "timestamp",   "source",  "client_ip",   "user_agent", "test_type",
	"download_mbps", "upload_mbps", "ping_ms", "bufferbloat", NULL,
};
static const char *const bufferbloat_keys[] = {
	"overall_grade",
	"download_latency_increase_ms",
	"upload_latency_increase_ms",
	"bidirectional_latency_increase_ms",
	NULL,
};
static const char *const household_keys[] = {
	"alex_performance", "sarah_performance", "jake_performance", "computer_performance", NULL,
};
static const char *const letters[] = {"A+", "A", "B", "C", "D", "F", NULL};

static void load_result(const char *path, struct lqos_result *r)
{
	FILE *f = fopen(path, "rb");
	char buf[8192];
	size_t n;
	char why[256];

	ck_assert_msg(f != NULL, "fixture %s", path);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	ck_assert_msg(lqos_result_parse(buf, n, r, why, sizeof(why)) == 0, "%s: %s", path, why);
	lqos_result_grade(r);
}

static json_t *parse_json(const char *text)
{
	json_error_t err;
	json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, &err);

	ck_assert_msg(doc != NULL, "invalid JSON (%s): %s", err.text, text);
	ck_assert(json_is_object(doc));
	return doc;
}

/* `obj` has every key of `keys` (and `extra`, when not NULL) and no other. */
static void assert_exact_keys(json_t *obj, const char *const *keys, const char *extra)
{
	const char *key;
	json_t *value;
	size_t want = 0;

	for (size_t i = 0; keys[i] != NULL; i++, want++)
		ck_assert_msg(json_object_get(obj, keys[i]) != NULL, "missing key %s", keys[i]);
	if (extra != NULL) {
		ck_assert_msg(json_object_get(obj, extra) != NULL, "missing key %s", extra);
		want++;
	}
	json_object_foreach(obj, key, value)
	{
		bool known = extra != NULL && strcmp(key, extra) == 0;
		for (size_t i = 0; keys[i] != NULL && !known; i++)
			known = strcmp(key, keys[i]) == 0;
		ck_assert_msg(known, "unexpected key %s", key);
	}
	ck_assert_uint_eq(json_object_size(obj), want);
}

static bool is_letter(json_t *v)
{
	if (!json_is_string(v))
		return false;
	for (size_t i = 0; letters[i] != NULL; i++)
		if (strcmp(json_string_value(v), letters[i]) == 0)
			return true;
	return false;
}

static void assert_number(json_t *obj, const char *key, double want)
{
	json_t *v = json_object_get(obj, key);

	ck_assert_msg(json_is_number(v), "%s is not a number", key);
	ck_assert_msg(fabs(json_number_value(v) - want) < 1e-9, "%s = %g, want %g", key,
		      json_number_value(v), want);
}

static bool matches(const char *pattern, const char *text)
{
	regex_t re;
	int rc;

	ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	rc = regexec(&re, text, 0, NULL, 0);
	regfree(&re);
	return rc == 0;
}

#define TS_RE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"

START_TEST(payload_single_user_has_the_guides_fields)
{
	struct lqos_result r;
	struct lqos_webhook_row row = {
		.result = &r,
		.test_id = "isp_1234567890_5678",
		.timestamp = "2025-06-12T12:42:18.123Z",
		.client_ip = "192.168.1.100",
		.user_agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
	};
	char *text;
	json_t *doc, *bb;

	load_result(FIXTURE("native_single.json"), &r);
	text = lqos_webhook_payload(&row);
	ck_assert_ptr_nonnull(text);
	doc = parse_json(text);
	assert_exact_keys(doc, payload_keys, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "test_id")), "isp_1234567890_5678");
	ck_assert_str_eq(json_string_value(json_object_get(doc, "timestamp")),
			 "2025-06-12T12:42:18.123Z");
	ck_assert_str_eq(json_string_value(json_object_get(doc, "source")), "libreqos-bufferbloat");
	ck_assert_str_eq(json_string_value(json_object_get(doc, "client_ip")), "192.168.1.100");
	ck_assert_str_eq(json_string_value(json_object_get(doc, "user_agent")),
			 "Mozilla/5.0 (Windows NT 10.0; Win64; x64)");
	ck_assert_str_eq(json_string_value(json_object_get(doc, "test_type")), "single_user");
	assert_number(doc, "download_mbps", 115.6);
	assert_number(doc, "upload_mbps", 23.4);
	assert_number(doc, "ping_ms", 12.3);
	bb = json_object_get(doc, "bufferbloat");
	ck_assert(json_is_object(bb));
	assert_exact_keys(bb, bufferbloat_keys, NULL);
	/* The guide's receivers compare it with "D" or "F": a string. */
	ck_assert(is_letter(json_object_get(bb, "overall_grade")));
	ck_assert_str_eq(json_string_value(json_object_get(bb, "overall_grade")),
			 lqos_grade_name(r.overall_grade));
	assert_number(bb, "download_latency_increase_ms", 45.2);
	assert_number(bb, "upload_latency_increase_ms", 78.9);
	assert_number(bb, "bidirectional_latency_increase_ms", 67.1);
	ck_assert_ptr_null(json_object_get(doc, "virtual_household"));
	json_decref(doc);
	free(text);
}
END_TEST

static void check_household(const char *fixture, const char *const expect_letters[4])
{
	struct lqos_result r;
	struct lqos_webhook_row row = {
		.result = &r,
		.test_id = "isp_1700000000_7",
		.timestamp = "2025-06-12T12:50:00.000Z",
		.client_ip = "2001:db8::7",
		.user_agent = NULL,
	};
	char *text;
	json_t *doc, *vh;

	load_result(fixture, &r);
	text = lqos_webhook_payload(&row);
	ck_assert_ptr_nonnull(text);
	doc = parse_json(text);
	assert_exact_keys(doc, payload_keys, "virtual_household");
	ck_assert_str_eq(json_string_value(json_object_get(doc, "test_type")), "virtual_household");
	/* No User-Agent: null, the key is still there. */
	ck_assert(json_is_null(json_object_get(doc, "user_agent")));
	ck_assert(is_letter(json_object_get(json_object_get(doc, "bufferbloat"), "overall_grade")));
	vh = json_object_get(doc, "virtual_household");
	ck_assert(json_is_object(vh));
	assert_exact_keys(vh, household_keys, NULL);
	for (int i = 0; i < 4; i++) {
		json_t *v = json_object_get(vh, household_keys[i]);
		ck_assert_msg(is_letter(v), "%s is not a letter", household_keys[i]);
		ck_assert_str_eq(json_string_value(v), lqos_grade_name(r.user_grade[i]));
		if (expect_letters != NULL)
			ck_assert_str_eq(json_string_value(v), expect_letters[i]);
	}
	json_decref(doc);
	free(text);
}

START_TEST(payload_household_native)
{
	check_household(FIXTURE("native_household.json"), NULL);
}
END_TEST

START_TEST(payload_household_original_letters)
{
	static const char *const want[4] = {"A", "B", "A+", "C"};

	check_household(FIXTURE("original_household.json"), want);
}
END_TEST

START_TEST(central_payload_is_anonymous)
{
	struct lqos_result r;
	struct lqos_webhook_row row = {
		.result = &r,
		.test_id = "isp_1749732138_4242",
		.timestamp = "2025-06-12T12:42:18.123Z",
		.client_ip = "203.0.113.45",
		.user_agent = "Mozilla/5.0 UniqueAgent/7.3",
	};
	char id1[64], id2[64];
	char *text, *text2;
	json_t *doc;

	load_result(FIXTURE("native_single.json"), &r);
	text = lqos_webhook_central_payload(&row, id1, sizeof(id1));
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_null(strstr(text, "203.0.113.45"));
	ck_assert_ptr_null(strstr(text, "UniqueAgent"));
	ck_assert_ptr_null(strstr(text, "Mozilla"));
	ck_assert_ptr_null(strstr(text, "isp_1749732138_4242"));
	ck_assert_ptr_null(strstr(text, "1749732138"));
	ck_assert_ptr_null(strstr(text, "12:42"));
	doc = parse_json(text);
	ck_assert_ptr_null(json_object_get(doc, "client_ip"));
	ck_assert_ptr_null(json_object_get(doc, "user_agent"));
	ck_assert_ptr_null(json_object_get(doc, "test_id"));
	ck_assert_str_eq(json_string_value(json_object_get(doc, "timestamp")),
			 "2025-06-12T12:00:00Z");
	ck_assert_str_eq(json_string_value(json_object_get(doc, "event_id")), id1);
	ck_assert(matches("^[0-9a-f]{32}$", id1));
	ck_assert(is_letter(json_object_get(json_object_get(doc, "bufferbloat"), "overall_grade")));
	json_decref(doc);
	/* The event id is random, not derived from the test. */
	text2 = lqos_webhook_central_payload(&row, id2, sizeof(id2));
	ck_assert_ptr_nonnull(text2);
	ck_assert_str_ne(id1, id2);
	free(text);
	free(text2);
	/* A buffer too small for the id is refused, not overrun. */
	ck_assert_ptr_null(lqos_webhook_central_payload(&row, id1, 16));
}
END_TEST

START_TEST(legacy_signature_rfc4231)
{
	/* RFC 4231 test case 2 (HMAC-SHA-256). */
	static const char body[] = "what do ya want for nothing?";
	char out[80];

	ck_assert_int_eq(lqos_webhook_sign_legacy("Jefe", body, strlen(body), out, sizeof(out)), 0);
	ck_assert_str_eq(out,
			 "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	ck_assert_int_eq(lqos_webhook_sign_legacy("Jefe", body, strlen(body), out, 40), -1);
}
END_TEST

START_TEST(legacy_signature_covers_exact_bytes)
{
	static const char a[] = "{\"a\":1}";
	static const char b[] = "{\"a\": 1}";
	char sa[80], sb[80], sa_prefix[80];

	ck_assert_int_eq(lqos_webhook_sign_legacy("k", a, strlen(a), sa, sizeof(sa)), 0);
	ck_assert_int_eq(lqos_webhook_sign_legacy("k", b, strlen(b), sb, sizeof(sb)), 0);
	ck_assert_int_eq(
		lqos_webhook_sign_legacy("k", a, strlen(a) - 1, sa_prefix, sizeof(sa_prefix)), 0);
	ck_assert_str_ne(sa, sb);
	ck_assert_str_ne(sa, sa_prefix);
	ck_assert(matches("^sha256=[0-9a-f]{64}$", sa));
}
END_TEST

START_TEST(standard_signature_whsec_vector)
{
	/* The Standard Webhooks specification's published example. */
	static const char body[] = "{\"test\": 2432232314}";
	char out[128];

	ck_assert_int_eq(lqos_webhook_sign_standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
						    "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
						    body, strlen(body), out, sizeof(out)),
			 0);
	ck_assert_str_eq(out, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}
END_TEST

START_TEST(standard_signature_whsec_padded_key)
{
	/* "YWJjZA==" is the 4-byte key "abcd": padding is not key material.
	 * Expected value computed with Python's hmac module. */
	static const char body[] = "{\"x\":\"y\"}";
	char out[128];

	ck_assert_int_eq(lqos_webhook_sign_standard("whsec_YWJjZA==", "evt_1", 1700000000, body,
						    strlen(body), out, sizeof(out)),
			 0);
	ck_assert_str_eq(out, "v1,annAk1O6/7aIoEoxe+h0pUuLhySt0EJ0Ml+m1GZN0+0=");
}
END_TEST

START_TEST(standard_signature_whsec_without_key_refused)
{
	/* "whsec_" must carry a key of at least one byte: padding alone, or
	 * nothing, is not a key (it used to underflow the key length and
	 * sign with whatever followed it on the stack). */
	static const char body[] = "{}";
	static const char *const bad[] = {"whsec_====", "whsec_=", "whsec_", "whsec_!!!!"};
	char out[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(out, "untouched");
		ck_assert_msg(lqos_webhook_sign_standard(bad[i], "evt_1", 1700000000, body,
							 strlen(body), out, sizeof(out)) == -1,
			      "%s was accepted", bad[i]);
		ck_assert_int_eq(lqos_webhook_secret_valid(bad[i]), 0);
	}
	ck_assert_int_eq(lqos_webhook_secret_valid("whsec_YWJjZA=="), 1);
	ck_assert_int_eq(lqos_webhook_secret_valid("plain secret"), 1);
}
END_TEST

/* The submission's idempotency hash: FIPS 180-4's examples (one block,
 * the 56-byte message that needs a second padding block) and the empty
 * string. */
START_TEST(sha256_vectors)
{
	static const struct {
		const char *msg, *hex;
	} v[] = {
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	};
	unsigned char md[LQOS_SHA256_LEN];
	char hex[2 * LQOS_SHA256_LEN + 1];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		lqos_sha256(v[i].msg, strlen(v[i].msg), md);
		for (int j = 0; j < LQOS_SHA256_LEN; j++)
			snprintf(hex + 2 * j, 3, "%02x", md[j]);
		ck_assert_str_eq(hex, v[i].hex);
	}
}
END_TEST

START_TEST(standard_signature_plain_secret)
{
	/* A secret without whsec_ is used as its own bytes (the same secret
	 * as X-LibreQoS-Signature). Expected value computed with Python. */
	static const char body[] = "{\"a\":1}";
	char out[128];

	ck_assert_int_eq(lqos_webhook_sign_standard("lqos-plain-secret", "isp_1700000000_42",
						    1700000123, body, strlen(body), out,
						    sizeof(out)),
			 0);
	ck_assert_str_eq(out, "v1,2vEGCu0hXBUHKqUAgr1vp1zXCre3mo4BOhqWOclp3Bw=");
	/* Another id or timestamp signs differently: replays can be told. */
	{
		char other[128];
		ck_assert_int_eq(lqos_webhook_sign_standard("lqos-plain-secret",
							    "isp_1700000000_42", 1700000124, body,
							    strlen(body), other, sizeof(other)),
				 0);
		ck_assert_str_ne(out, other);
	}
	ck_assert_int_eq(lqos_webhook_sign_standard("lqos-plain-secret", "id", 1, body,
						    strlen(body), out, 20),
			 -1);
}
END_TEST

#define HOUR 3600L

START_TEST(backoff_schedule)
{
	long prev = 0;

	/* Attempt 1 about 30 s, +-20 %. */
	ck_assert_int_eq(lqos_outbox_backoff(1, 0.5), 30);
	ck_assert_int_ge(lqos_outbox_backoff(1, 0.0), 24);
	ck_assert_int_le(lqos_outbox_backoff(1, 0.999999), 36);
	/* Doubling at the nominal point until the 6 h cap. */
	for (long a = 1; a <= 10; a++) {
		long d = lqos_outbox_backoff(a, 0.5);
		ck_assert_int_eq(d, 30L << (a - 1));
		ck_assert_int_gt(d, prev);
		prev = d;
	}
	for (long a = 11; a <= 60; a++)
		ck_assert_int_eq(lqos_outbox_backoff(a, 0.5), 6 * HOUR);
	/* Huge attempt counts neither overflow nor pass the cap. */
	ck_assert_int_le(lqos_outbox_backoff(100000, 0.999999), (long)(6 * HOUR * 1.2));
	ck_assert_int_ge(lqos_outbox_backoff(100000, 0.0), (long)(6 * HOUR * 0.8));
	/* Jitter stays within +-20 % of the nominal delay. */
	for (long a = 1; a <= 20; a++) {
		double nominal = (double)lqos_outbox_backoff(a, 0.5);
		for (int j = 0; j < 100; j++) {
			double jitter = j / 100.0;
			long d = lqos_outbox_backoff(a, jitter);
			ck_assert_msg(d >= (long)floor(nominal * 0.8) &&
					      d <= (long)ceil(nominal * 1.2),
				      "attempt %ld jitter %.2f: %ld s vs nominal %.0f", a, jitter,
				      d, nominal);
		}
	}
	/* Not constant: jitter spreads retries of many events apart. */
	ck_assert_int_lt(lqos_outbox_backoff(5, 0.0), lqos_outbox_backoff(5, 0.99));
}
END_TEST

/* Attempts needed until the summed delays reach `span` seconds. */
static long attempts_to_reach(long span, double jitter)
{
	long total = 0, a = 0;

	while (total < span && a < 10000)
		total += lqos_outbox_backoff(++a, jitter);
	return a;
}

START_TEST(backoff_spans_three_days)
{
	/* Retries keep going for about three days (webhook_max_age_hours
	 * 72): the schedule reaches 72 h in a modest number of attempts
	 * whatever the jitter, neither hammering the portal nor stalling. */
	long fastest = attempts_to_reach(72 * HOUR, 0.999999);
	long slowest = attempts_to_reach(72 * HOUR, 0.0);
	long nominal = attempts_to_reach(72 * HOUR, 0.5);

	ck_assert_int_ge(fastest, 12);
	ck_assert_int_le(slowest, 30);
	ck_assert_int_ge(nominal, fastest);
	ck_assert_int_le(nominal, slowest);
	/* The first hour still gets several tries (a short outage heals fast). */
	ck_assert_int_ge(attempts_to_reach(HOUR, 0.999999), 6);
}
END_TEST

/* ------------------------------------------------------------ outbox */

static char tmpdir[] = "/tmp/check_webhook.XXXXXX";
static char dbpath[256];
static struct lqos_db *db;
static struct lqos_config cfg;
static struct lqos_result single;

static void outbox_setup(void)
{
	char why[256];

	ck_assert_ptr_nonnull(mkdtemp(strcpy(tmpdir, "/tmp/check_webhook.XXXXXX")));
	snprintf(dbpath, sizeof(dbpath), "%s/t.db", tmpdir);
	db = lqos_store_open(dbpath, why, sizeof(why));
	ck_assert_msg(db != NULL, "%s", why);
	/* Defaults from a file that does not exist, then what the test needs. */
	snprintf(why, sizeof(why), "%s/absent.conf", tmpdir);
	ck_assert_int_eq(lqos_config_load(&cfg, why), 0);
	cfg.webhook_url = strdup("http://127.0.0.1:9/hook");
	load_result(FIXTURE("native_single.json"), &single);
}

static void outbox_teardown(void)
{
	char cmd[300];

	lqos_store_close(db);
	db = NULL;
	lqos_config_free(&cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Store one result through the real insert path with the outbox hook.
 * Returns its test id (static buffer of the caller). */
static void submit(const char *ip, char test_id[LQOS_TEST_ID_LEN], char ts[LQOS_TIMESTAMP_LEN])
{
	struct lqos_outbox_ctx ctx = {
		.cfg = &cfg,
		.result = &single,
		.client_ip = ip,
		.user_agent = "check/1",
	};
	struct lqos_store_insert_args args = {
		.result = &single,
		.client_ip = ip,
		.user_agent = "check/1",
		.server_name = "check",
		.max_stored_tests = cfg.max_stored_tests,
		.max_per_ip_per_hour = 0,
		.hook = lqos_outbox_store_hook,
		.hook_ctx = &ctx,
	};
	char why[256];
	long retry_after = 0;

	ck_assert_int_eq(lqos_store_insert(db, &args, test_id, ts, &retry_after, why, sizeof(why)),
			 LQOS_STORE_OK);
	ck_assert(ctx.enqueued);
}

static long query_long(const char *sql, const char *arg)
{
	sqlite3_stmt *st;
	long v = -1;

	ck_assert_int_eq(sqlite3_prepare_v2(lqos_store_sqlite(db), sql, -1, &st, NULL), SQLITE_OK);
	if (arg != NULL)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static char *query_text(const char *sql, const char *arg)
{
	sqlite3_stmt *st;
	char *v = NULL;

	ck_assert_int_eq(sqlite3_prepare_v2(lqos_store_sqlite(db), sql, -1, &st, NULL), SQLITE_OK);
	if (arg != NULL)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

static const char *const webhook_only[] = {LQOS_TARGET_WEBHOOK, NULL};
static const char *const both_targets[] = {LQOS_TARGET_WEBHOOK, LQOS_TARGET_CENTRAL, NULL};

static int claim(long now, long lease, struct lqos_outbox_event *ev, int max)
{
	int n = lqos_outbox_claim(db, now, lease, webhook_only, ev, max);

	ck_assert_int_ge(n, 0);
	return n;
}

static void free_events(struct lqos_outbox_event *ev, int n)
{
	for (int i = 0; i < n; i++)
		lqos_outbox_event_free(&ev[i]);
}

START_TEST(outbox_written_with_the_result)
{
	char id[LQOS_TEST_ID_LEN], ts[LQOS_TIMESTAMP_LEN];
	char *payload;
	json_t *doc;

	submit("198.51.100.9", id, ts);
	ck_assert_int_eq(query_long("SELECT count(*) FROM webhook_outbox WHERE event_id = ?1 AND "
				    "target = 'webhook' AND state = 'pending'",
				    id),
			 1);
	payload = query_text("SELECT payload FROM webhook_outbox WHERE event_id = ?1", id);
	ck_assert_ptr_nonnull(payload);
	doc = parse_json(payload);
	/* The payload carries the stored row's own id and timestamp. */
	ck_assert_str_eq(json_string_value(json_object_get(doc, "test_id")), id);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "timestamp")), ts);
	ck_assert_msg(matches(TS_RE, ts), "timestamp %s", ts);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "client_ip")), "198.51.100.9");
	ck_assert_str_eq(json_string_value(json_object_get(doc, "user_agent")), "check/1");
	json_decref(doc);
	free(payload);
	payload = query_text("SELECT timestamp FROM test_results WHERE test_id = ?1", id);
	ck_assert_str_eq(payload, ts);
	free(payload);
}
END_TEST

START_TEST(outbox_central_event_has_its_own_id)
{
	char id[LQOS_TEST_ID_LEN], ts[LQOS_TIMESTAMP_LEN];
	struct lqos_outbox_event ev[4];
	long now;
	int n;

	cfg.central_telemetry_url = strdup("http://127.0.0.1:9/central");
	submit("198.51.100.10", id, ts);
	now = (long)time(NULL); /* after the writes: events are due from their creation */
	ck_assert_int_eq(query_long("SELECT count(*) FROM webhook_outbox", NULL), 2);
	ck_assert_int_eq(query_long("SELECT count(*) FROM webhook_outbox WHERE target = 'central' "
				    "AND (event_id = ?1 OR instr(payload, ?1) > 0 OR "
				    "instr(payload, '198.51.100.10') > 0 OR "
				    "instr(payload, 'check/1') > 0)",
				    id),
			 0);
	/* A webhook-only claim leaves the central event alone. */
	n = claim(now, 60, ev, 4);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(ev[0].target, LQOS_TARGET_WEBHOOK);
	free_events(ev, n);
	n = lqos_outbox_claim(db, now, 60, both_targets, ev, 4);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(ev[0].target, LQOS_TARGET_CENTRAL);
	free_events(ev, n);
}
END_TEST

START_TEST(outbox_claim_lease_and_expiry)
{
	char id[LQOS_TEST_ID_LEN], ts[LQOS_TIMESTAMP_LEN];
	struct lqos_outbox_event ev[4];
	long now;
	int n;

	submit("198.51.100.11", id, ts);
	now = (long)time(NULL);
	n = claim(now, 60, ev, 4);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(ev[0].event_id, id);
	ck_assert_str_eq(ev[0].target, LQOS_TARGET_WEBHOOK);
	ck_assert_int_eq(ev[0].attempts, 0);
	ck_assert_ptr_nonnull(strstr(ev[0].payload, id));
	ck_assert_int_le(labs(ev[0].created_at - now), 5);
	free_events(ev, n);
	/* Leased: nobody else gets it (a second flusher, a prompt one). */
	ck_assert_int_eq(claim(now, 60, ev, 4), 0);
	ck_assert_int_eq(claim(now + 59, 60, ev, 4), 0);
	/* The holder died: once the lease runs out the event is claimable again. */
	n = claim(now + 60, 60, ev, 4);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(ev[0].event_id, id);
	free_events(ev, n);
	ck_assert_int_eq(claim(now + 61, 60, ev, 4), 0);
	/* Released without an attempt: claimable at once, no attempt counted. */
	ck_assert_int_eq(lqos_outbox_release(db,
					     query_long("SELECT id FROM webhook_outbox "
							"WHERE event_id = ?1",
							id),
					     now + 61),
			 0);
	n = claim(now + 61, 60, ev, 4);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(ev[0].attempts, 0);
	free_events(ev, n);
}
END_TEST

START_TEST(outbox_outcomes)
{
	char id[LQOS_TEST_ID_LEN], ts[LQOS_TIMESTAMP_LEN];
	struct lqos_outbox_event ev[4];
	long now;
	long long rowid;
	json_t *stats, *w;
	int n;

	submit("198.51.100.12", id, ts);
	now = (long)time(NULL);
	n = claim(now, 60, ev, 4);
	ck_assert_int_eq(n, 1);
	rowid = ev[0].id;
	free_events(ev, n);
	/* A failed attempt: not before next_at, then again with the count. */
	ck_assert_int_eq(lqos_outbox_failed(db, rowid, now, 500, "HTTP 500", now + 30, false), 0);
	ck_assert_int_eq(claim(now + 29, 60, ev, 4), 0);
	n = claim(now + 30, 60, ev, 4);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(ev[0].attempts, 1);
	free_events(ev, n);
	ck_assert_int_eq(
		query_long("SELECT last_status FROM webhook_outbox WHERE event_id = ?1", id), 500);
	stats = json_object();
	ck_assert_int_eq(lqos_outbox_stats(db, now + 40, stats), 0);
	w = json_object_get(stats, "webhook");
	ck_assert_int_eq(json_integer_value(json_object_get(w, "pending")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(w, "last_error")), "HTTP 500");
	ck_assert_int_eq(json_integer_value(json_object_get(w, "last_error_at")), now);
	ck_assert_int_ge(json_integer_value(json_object_get(w, "oldest_pending_age_seconds")), 35);
	ck_assert(json_is_null(json_object_get(w, "last_delivery_at")));
	json_decref(stats);
	/* Delivered: never claimed again. */
	ck_assert_int_eq(lqos_outbox_delivered(db, rowid, now + 31, 204), 0);
	ck_assert_int_eq(claim(now + 100000, 60, ev, 4), 0);
	ck_assert_int_eq(query_long("SELECT attempts FROM webhook_outbox WHERE event_id = ?1", id),
			 2);
	stats = json_object();
	ck_assert_int_eq(lqos_outbox_stats(db, now + 40, stats), 0);
	w = json_object_get(stats, "webhook");
	ck_assert_int_eq(json_integer_value(json_object_get(w, "pending")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(w, "delivered")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(w, "last_delivery_at")), now + 31);
	ck_assert(json_is_null(json_object_get(w, "oldest_pending_age_seconds")));
	json_decref(stats);

	/* Given up: state failed, kept for inspection, never claimed. */
	submit("198.51.100.12", id, ts);
	now = (long)time(NULL);
	n = claim(now, 60, ev, 4);
	ck_assert_int_eq(n, 1);
	rowid = ev[0].id;
	free_events(ev, n);
	ck_assert_int_eq(
		lqos_outbox_failed(db, rowid, now, 0, "Couldn't connect to server", now + 30, true),
		0);
	ck_assert_int_eq(claim(now + 100000, 60, ev, 4), 0);
	ck_assert_int_eq(query_long("SELECT count(*) FROM webhook_outbox WHERE event_id = ?1 AND "
				    "state = 'failed' AND last_status IS NULL",
				    id),
			 1);
	stats = json_object();
	ck_assert_int_eq(lqos_outbox_stats(db, now, stats), 0);
	ck_assert_int_eq(
		json_integer_value(json_object_get(json_object_get(stats, "webhook"), "failed")),
		1);
	json_decref(stats);
}
END_TEST

START_TEST(outbox_claim_batches_oldest_due_first)
{
	char id[3][LQOS_TEST_ID_LEN], ts[LQOS_TIMESTAMP_LEN];
	struct lqos_outbox_event ev[4];
	long now;
	int n;

	for (int i = 0; i < 3; i++)
		submit("198.51.100.13", id[i], ts);
	now = (long)time(NULL);
	/* Not due before they were written. */
	ck_assert_int_eq(claim(now - 3600, 60, ev, 4), 0);
	n = claim(now, 60, ev, 2);
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(ev[0].event_id, id[0]);
	ck_assert_str_eq(ev[1].event_id, id[1]);
	free_events(ev, n);
	n = claim(now, 60, ev, 4);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(ev[0].event_id, id[2]);
	free_events(ev, n);
}
END_TEST

START_TEST(outbox_survives_result_pruning)
{
	char id[LQOS_TEST_ID_LEN], first[LQOS_TEST_ID_LEN], ts[LQOS_TIMESTAMP_LEN];

	cfg.max_stored_tests = 5;
	submit("198.51.100.14", first, ts);
	for (int i = 0; i < 19; i++)
		submit("198.51.100.14", id, ts);
	ck_assert_int_eq(query_long("SELECT count(*) FROM test_results", NULL), 5);
	ck_assert_int_eq(query_long("SELECT count(*) FROM test_results WHERE test_id = ?1", first),
			 0);
	/* Every undelivered event is still there, the pruned result's too. */
	ck_assert_int_eq(
		query_long("SELECT count(*) FROM webhook_outbox WHERE state = 'pending'", NULL),
		20);
	ck_assert_int_eq(
		query_long("SELECT count(*) FROM webhook_outbox WHERE event_id = ?1", first), 1);
}
END_TEST

START_TEST(outbox_bound_fails_oldest_never_deletes_pending)
{
	char id[LQOS_TEST_ID_LEN], ts[LQOS_TIMESTAMP_LEN];
	char first[5][LQOS_TEST_ID_LEN];
	struct lqos_outbox_event ev[16];
	long now;
	char *why;
	int n;

	cfg.outbox_max_events = 10;
	for (int i = 0; i < 15; i++)
		submit("198.51.100.15", i < 5 ? first[i] : id, ts);
	now = (long)time(NULL);
	/* Nothing dropped: 15 rows, the 5 oldest failed with a reason. */
	ck_assert_int_eq(query_long("SELECT count(*) FROM webhook_outbox", NULL), 15);
	ck_assert_int_eq(
		query_long("SELECT count(*) FROM webhook_outbox WHERE state = 'pending'", NULL),
		10);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(
			query_long("SELECT count(*) FROM webhook_outbox WHERE event_id = ?1 "
				   "AND state = 'failed'",
				   first[i]),
			1);
		why = query_text("SELECT last_error FROM webhook_outbox WHERE event_id = ?1",
				 first[i]);
		ck_assert_ptr_nonnull(why);
		ck_assert_msg(strstr(why, "outbox") != NULL &&
				      strstr(why, "outbox_max_events") != NULL,
			      "reason: %s", why);
		free(why);
	}
	/* Deliver everything pending, then keep inserting: settled rows
	 * beyond the bound go, pending rows never do. */
	n = claim(now, 60, ev, 16);
	ck_assert_int_eq(n, 10);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(lqos_outbox_delivered(db, ev[i].id, now, 200), 0);
	free_events(ev, n);
	for (int i = 0; i < 40; i++)
		submit("198.51.100.15", id, ts);
	ck_assert_int_le(query_long("SELECT count(*) FROM webhook_outbox", NULL), 2 * 10);
	ck_assert_int_eq(
		query_long("SELECT count(*) FROM webhook_outbox WHERE state = 'pending'", NULL),
		10);
	ck_assert_int_eq(query_long("SELECT count(*) FROM webhook_outbox WHERE event_id = ?1", id),
			 1);
	/* Pending rows stay even when they are far below the bound: the
	 * overflow turns them into failed ones (counted), not deleted ones. */
	ck_assert_int_eq(query_long("SELECT count(*) FROM webhook_outbox WHERE state = 'pending' "
				    "AND id <= (SELECT max(id) FROM webhook_outbox) - 10",
				    NULL),
			 0);
}
END_TEST

/* On PostgreSQL nothing makes database_path's folder: the flusher's lock
 * file makes it, so two runs on one server still exclude each other. */
START_TEST(flush_lock_makes_its_folder)
{
	char path[300];
	char lock[320];
	struct stat st;
	int a;
	int b;

	snprintf(path, sizeof(path), "%s/pg/state/isp_telemetry.db", tmpdir);
	a = lqos_flush_lock_open(path);
	ck_assert_int_ge(a, 0);
	snprintf(lock, sizeof(lock), "%s.flush.lock", path);
	ck_assert_int_eq(stat(lock, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(flock(a, LOCK_EX | LOCK_NB), 0);
	b = lqos_flush_lock_open(path);
	ck_assert_int_ge(b, 0);
	ck_assert_int_ne(flock(b, LOCK_EX | LOCK_NB), 0);
	close(a);
	ck_assert_int_eq(flock(b, LOCK_EX | LOCK_NB), 0);
	close(b);
}
END_TEST

static Suite *webhook_suite(void)
{
	Suite *s = suite_create("webhook");
	TCase *tc = tcase_create("payload");
	TCase *sig = tcase_create("signature");
	TCase *bo = tcase_create("backoff");
	TCase *ob = tcase_create("outbox");

	tcase_add_test(tc, payload_single_user_has_the_guides_fields);
	tcase_add_test(tc, payload_household_native);
	tcase_add_test(tc, payload_household_original_letters);
	tcase_add_test(tc, central_payload_is_anonymous);
	suite_add_tcase(s, tc);

	tcase_add_test(sig, legacy_signature_rfc4231);
	tcase_add_test(sig, legacy_signature_covers_exact_bytes);
	tcase_add_test(sig, standard_signature_whsec_vector);
	tcase_add_test(sig, standard_signature_whsec_padded_key);
	tcase_add_test(sig, standard_signature_whsec_without_key_refused);
	tcase_add_test(sig, standard_signature_plain_secret);
	tcase_add_test(sig, sha256_vectors);
	suite_add_tcase(s, sig);

	tcase_add_test(bo, backoff_schedule);
	tcase_add_test(bo, backoff_spans_three_days);
	suite_add_tcase(s, bo);

	tcase_add_checked_fixture(ob, outbox_setup, outbox_teardown);
	tcase_add_test(ob, outbox_written_with_the_result);
	tcase_add_test(ob, outbox_central_event_has_its_own_id);
	tcase_add_test(ob, outbox_claim_lease_and_expiry);
	tcase_add_test(ob, outbox_outcomes);
	tcase_add_test(ob, outbox_claim_batches_oldest_due_first);
	tcase_add_test(ob, outbox_survives_result_pruning);
	tcase_add_test(ob, outbox_bound_fails_oldest_never_deletes_pending);
	tcase_add_test(ob, flush_lock_makes_its_folder);
	suite_add_tcase(s, ob);
	return s;
}

int main(void)
{
	return lqos_test_run(webhook_suite());
}
