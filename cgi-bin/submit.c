/* POST /api/telemetry: grade a test result, store it, answer with the
 * grades (even when storing failed). */
#include <stdlib.h>

#include "libcommon/app.h"
#include "libcommon/log.h"
#include "libcommon/result.h"
#include "libcommon/sha256.h"
#include "libcommon/store.h"
#include "libcommon/webhook_outbox.h"
#include "libcommon/webhook_spawn.h"

#define USER_AGENT_MAX 512

static int answer(struct lqos_app *app, int status, const char *headers,
		  const struct lqos_result *r, const char *error)
{
	json_t *body =
		json_pack("{s:b, s:s, s:o}", "success", status == 200, "test_type",
			  lqos_test_type_name(r->type), "grades", lqos_result_grades_json(r));

	if (error != NULL)
		json_object_set_new(body, "error", json_string(error));
	return lqos_respond_json(app->out, status, headers, body);
}

/* 200 with the test id: the first answer, and (Idempotent-Replayed)
 * the same answer to a repeat of its Idempotency-Key. */
static int answer_stored(struct lqos_app *app, const struct lqos_result *result,
			 const char *test_id, const char *timestamp, bool replayed)
{
	return lqos_respond_json(app->out, 200, replayed ? "Idempotent-Replayed: true\r\n" : NULL,
				 json_pack("{s:b, s:b, s:s, s:s, s:s, s:s, s:o}", "success", 1,
					   "stored", 1, "test_id", test_id, "timestamp", timestamp,
					   "client_ip", app->client_ip, "test_type",
					   lqos_test_type_name(result->type), "grades",
					   lqos_result_grades_json(result)));
}

/* Hex SHA-256 of the request body: a key reused for another body is
 * refused rather than answered with someone else's test. */
static void body_sha256(const struct lqos_app *app, char out[2 * LQOS_SHA256_LEN + 1])
{
	unsigned char md[LQOS_SHA256_LEN];

	lqos_sha256(app->req.body, app->req.body_len, md);
	for (int i = 0; i < LQOS_SHA256_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Store the graded result with its webhook events and answer: 200 with
 * the test id (also to a repeat), 429 over the per-address limit, 422 for
 * a key reused with another body, 503 when not stored. */
static int store_and_answer(struct lqos_app *app, struct lqos_db *db,
			    const struct lqos_result *result)
{
	char sha[2 * LQOS_SHA256_LEN + 1];
	struct lqos_store_insert_args args = {0};
	struct lqos_outbox_ctx outbox = {0};
	char why[512], header[64];
	char test_id[LQOS_TEST_ID_LEN], timestamp[LQOS_TIMESTAMP_LEN];
	long retry_after = 60;
	char *user_agent = lqos_text_clean(app->req.user_agent, USER_AGENT_MAX);
	enum lqos_store_status st;
	int status;

	args.result = result;
	args.client_ip = app->client_ip;
	args.user_agent = user_agent;
	args.server_name = app->cfg.server_name;
	args.max_stored_tests = app->cfg.max_stored_tests;
	args.max_per_ip_per_hour = app->cfg.max_tests_per_ip_per_hour;
	/* The webhook events commit or roll back with the result. */
	outbox.cfg = &app->cfg;
	outbox.result = result;
	outbox.client_ip = app->client_ip;
	outbox.user_agent = user_agent;
	args.hook = lqos_outbox_store_hook;
	args.hook_ctx = &outbox;
	if (app->req.idempotency_key != NULL) {
		body_sha256(app, sha);
		args.idem_key = app->req.idempotency_key;
		args.request_sha256 = sha;
	}
	st = lqos_store_insert(db, &args, test_id, timestamp, &retry_after, why, sizeof(why));
	free(user_agent);
	outbox.user_agent = NULL;

	switch (st) {
	case LQOS_STORE_RATE_LIMITED:
		snprintf(header, sizeof(header), "Retry-After: %ld\r\n", retry_after);
		snprintf(why, sizeof(why),
			 "too many tests from this address in the last hour (limit %ld); "
			 "try again in %ld seconds",
			 app->cfg.max_tests_per_ip_per_hour, retry_after);
		return answer(app, 429, header, result, why);
	case LQOS_STORE_UNAVAILABLE:
		lqos_log("ISP telemetry: result not stored: %s", why);
		return answer(app, 503, "Retry-After: 60\r\n", result, why);
	case LQOS_STORE_KEY_REUSED:
		return answer(app, 422, NULL, result,
			      "this Idempotency-Key was already used for a different result; send "
			      "each result with a new key");
	case LQOS_STORE_REPEAT: return answer_stored(app, result, test_id, timestamp, true);
	case LQOS_STORE_OK: break;
	}
	status = answer_stored(app, result, test_id, timestamp, false);
	/* Deliver within seconds, after the customer has the answer. */
	if (outbox.enqueued && app->cfg.prompt_delivery) {
		/* SQLite connections must not cross fork(): the child opens its own. */
		lqos_store_close(app->db);
		app->db = NULL;
		lqos_spawn_flusher(app->cfg.database_path);
	}
	return status;
}

/* Content type, body, parse, grade, store, answer (the grades even when
 * storing failed). */
static void handle(struct lqos_app *app)
{
	struct lqos_result result;
	char why[512];
	struct lqos_db *db;
	int status;

	if (!lqos_content_type_is_json(app->req.content_type)) {
		lqos_respond_error(app->out, 415, NULL,
				   "send the result as JSON with 'Content-Type: application/json'");
		return;
	}
	if (app->req.idempotency_key != NULL &&
	    !lqos_store_idem_key_valid(app->req.idempotency_key)) {
		lqos_respond_error(app->out, 400, NULL,
				   "Idempotency-Key must be %d to %d characters of A-Z, a-z, 0-9, "
				   "'-' and '_'",
				   LQOS_IDEM_KEY_MIN, LQOS_IDEM_KEY_MAX);
		return;
	}
	status = lqos_request_read_body(&app->req, app->in, LQOS_MAX_BODY, why, sizeof(why));
	if (status != 0) {
		lqos_respond_error(app->out, status, NULL, "%s", why);
		return;
	}
	if (lqos_result_parse(app->req.body, app->req.body_len, &result, why, sizeof(why)) != 0) {
		lqos_respond_error(app->out, 400, NULL, "%s", why);
		return;
	}
	if (app->client_ip[0] == '\0') {
		lqos_respond_error(app->out, 400, NULL, "client address is missing or invalid");
		return;
	}
	lqos_result_grade(&result);
	if (!result.telemetry_enabled) {
		lqos_respond_json(app->out, 200, NULL,
				  json_pack("{s:b, s:b, s:s, s:o}", "success", 1, "stored", 0,
					    "test_type", lqos_test_type_name(result.type), "grades",
					    lqos_result_grades_json(&result)));
		return;
	}
	if (!app->config_ok) {
		answer(app, 503, "Retry-After: 300\r\n", &result,
		       "result graded but not stored: the server's configuration file cannot be "
		       "used");
		return;
	}
	db = lqos_app_db_quiet(app, why, sizeof(why));
	if (db == NULL) {
		answer(app, 503, "Retry-After: 60\r\n", &result, why);
		return;
	}
	store_and_answer(app, db, &result);
}

int main(void)
{
	return lqos_app_main("POST", LQOS_PUBLIC, handle);
}
