#include "webhook.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "config.h"

static json_t *measure(double v)
{
	return isfinite(v) ? json_real(round(v * 100.0) / 100.0) : json_null();
}

static json_t *letter(enum lqos_grade g)
{
	const char *n = lqos_grade_name(g);

	return n ? json_string(n) : json_null();
}

static json_t *household_json(const struct lqos_result *r)
{
	return json_pack("{s:o, s:o, s:o, s:o}", "alex_performance",
			 letter(r->user_grade[LQOS_USER_ALEX]), "sarah_performance",
			 letter(r->user_grade[LQOS_USER_SARAH]), "jake_performance",
			 letter(r->user_grade[LQOS_USER_JAKE]), "computer_performance",
			 letter(r->user_grade[LQOS_USER_COMPUTER]));
}

static json_t *bufferbloat_json(const struct lqos_result *r)
{
	return json_pack("{s:o, s:o, s:o, s:o}", "overall_grade", letter(r->overall_grade),
			 "download_latency_increase_ms",
			 measure(r->phase[LQOS_PHASE_DOWNLOAD].latency_increase_ms),
			 "upload_latency_increase_ms",
			 measure(r->phase[LQOS_PHASE_UPLOAD].latency_increase_ms),
			 "bidirectional_latency_increase_ms",
			 measure(r->phase[LQOS_PHASE_BIDIRECTIONAL].latency_increase_ms));
}

static char *dump(json_t *doc)
{
	char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;

	json_decref(doc);
	return text;
}

/* Both payloads end alike: the test type, the measurements, the grades.
 * Appends them to `doc` (in the guide's order) and serialises it. */
static char *finish_payload(json_t *doc, const struct lqos_result *r)
{
	if (doc == NULL)
		return NULL;
	json_object_set_new(doc, "test_type", json_string(lqos_test_type_name(r->type)));
	json_object_set_new(doc, "download_mbps", measure(r->download_mbps));
	json_object_set_new(doc, "upload_mbps", measure(r->upload_mbps));
	json_object_set_new(doc, "ping_ms", measure(r->baseline_latency_ms));
	json_object_set_new(doc, "bufferbloat", bufferbloat_json(r));
	/* Exactly the guide's fields: households add virtual_household only
	 * (the household score stays in the stored row and the support API). */
	if (r->type == LQOS_TEST_HOUSEHOLD)
		json_object_set_new(doc, "virtual_household", household_json(r));
	return dump(doc);
}

char *lqos_webhook_payload(const struct lqos_webhook_row *row)
{
	return finish_payload(
		json_pack("{s:s, s:s, s:s, s:s, s:o}", "test_id", row->test_id, "timestamp",
			  row->timestamp, "source", LQOS_WEBHOOK_SOURCE, "client_ip",
			  row->client_ip, "user_agent",
			  row->user_agent ? json_string(row->user_agent) : json_null()),
		row->result);
}

/* The kernel's CSPRNG (what RAND_bytes seeds from), without linking
 * libcrypto into the submission. */
static int random_bytes(unsigned char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = getrandom(buf + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

char *lqos_webhook_central_payload(const struct lqos_webhook_row *row, char *event_id_out,
				   size_t event_id_len)
{
	unsigned char rnd[16];
	char hour[32];

	if (event_id_len < 33 || random_bytes(rnd, sizeof(rnd)) != 0)
		return NULL;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(event_id_out + 2 * i, 3, "%02x", rnd[i]);
	/* 2025-06-12T12 + ":00:00Z": an hour is as precise as statistics need. */
	snprintf(hour, sizeof(hour), "%.13s:00:00Z", row->timestamp);
	return finish_payload(json_pack("{s:s, s:s, s:s}", "event_id", event_id_out, "timestamp",
					hour, "source", LQOS_WEBHOOK_SOURCE),
			      row->result);
}

/* One base64 digit's value, or -1. */
static int b64_digit(unsigned char c)
{
	static const char digits[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *at = c != '\0' ? strchr(digits, c) : NULL;

	return at != NULL ? (int)(at - digits) : -1;
}

/* Strict base64 (RFC 4648, padded to a multiple of 4; "=" only as the
 * last one or two characters). Returns the decoded length or -1. */
static long b64_decode(const char *in, size_t len, unsigned char *out, size_t outsize)
{
	size_t pad = 0, n = 0, total;

	if (len == 0 || len % 4 != 0)
		return -1;
	if (in[len - 1] == '=')
		pad++;
	if (in[len - 2] == '=')
		pad++;
	total = len / 4 * 3 - pad;
	if (total > outsize)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		unsigned long v = 0;
		for (size_t j = 0; j < 4; j++) {
			int d = i + j >= len - pad ? 0 : b64_digit((unsigned char)in[i + j]);
			if (d < 0)
				return -1;
			v = v << 6 | (unsigned long)d;
		}
		for (size_t j = 0; j < 3 && n < total; j++)
			out[n++] = (unsigned char)(v >> (16 - 8 * j));
	}
	return (long)n;
}

int lqos_webhook_secret_key(const char *secret, unsigned char *key, size_t keysize, size_t *keylen)
{
	size_t len = strlen(secret);
	long n;

	if (strncmp(secret, "whsec_", 6) != 0) {
		if (len > keysize)
			return -1;
		memcpy(key, secret, len);
		*keylen = len;
		return 0;
	}
	n = b64_decode(secret + 6, len - 6, key, keysize);
	if (n < 1)
		return -1;
	*keylen = (size_t)n;
	return 0;
}

int lqos_webhook_secret_valid(const char *secret)
{
	unsigned char key[LQOS_WEBHOOK_KEY_MAX];
	size_t keylen;

	return lqos_webhook_secret_key(secret, key, sizeof(key), &keylen) == 0;
}
