#include "webhook.h"

#include <math.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

char *lqos_webhook_central_payload(const struct lqos_webhook_row *row, char *event_id_out,
				   size_t event_id_len)
{
	unsigned char rnd[16];
	char hour[32];

	if (RAND_bytes(rnd, sizeof(rnd)) != 1 || event_id_len < 33)
		return NULL;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(event_id_out + 2 * i, 3, "%02x", rnd[i]);
	/* 2025-06-12T12 + ":00:00Z": an hour is as precise as statistics need. */
	snprintf(hour, sizeof(hour), "%.13s:00:00Z", row->timestamp);
	return finish_payload(json_pack("{s:s, s:s, s:s}", "event_id", event_id_out, "timestamp",
					hour, "source", LQOS_WEBHOOK_SOURCE),
			      row->result);
}

int lqos_webhook_sign_legacy(const char *secret, const char *body, size_t len, char *out,
			     size_t outlen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	if (outlen < 7 + 64 + 1 || HMAC(EVP_sha256(), secret, (int)strlen(secret),
					(const unsigned char *)body, len, mac, &maclen) == NULL)
		return -1;
	memcpy(out, "sha256=", 7);
	for (unsigned i = 0; i < maclen; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", mac[i]);
	return 0;
}

/* The HMAC key of a secret: whsec_<base64> is the decoded bytes (at
 * least one; "=" padding is not key material), any other secret its own
 * bytes. Returns -1 for a whsec_ secret that holds no valid key. */
static int secret_key(const char *secret, unsigned char *key, size_t keysize, size_t *keylen)
{
	size_t len = strlen(secret), pad = 0;
	int n;

	if (strncmp(secret, "whsec_", 6) != 0) {
		if (len > keysize)
			return -1;
		memcpy(key, secret, len);
		*keylen = len;
		return 0;
	}
	len -= 6;
	if (len > 4 * keysize / 3)
		return -1;
	n = EVP_DecodeBlock(key, (const unsigned char *)secret + 6, (int)len);
	/* EVP_DecodeBlock counts padding bytes as data. */
	while (pad < len && secret[6 + len - 1 - pad] == '=')
		pad++;
	if (n < 0 || pad > 2 || (size_t)n <= pad)
		return -1;
	*keylen = (size_t)n - pad;
	return 0;
}

int lqos_webhook_secret_valid(const char *secret)
{
	unsigned char key[256];
	size_t keylen;

	return secret_key(secret, key, sizeof(key), &keylen) == 0;
}

int lqos_webhook_sign_standard(const char *secret, const char *id, long timestamp, const char *body,
			       size_t len, char *out, size_t outlen)
{
	unsigned char key[256], mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	size_t keylen, plen;
	char *signed_text = NULL;
	int n, rc = -1;

	if (secret_key(secret, key, sizeof(key), &keylen) != 0)
		return -1;
	/* The signed content is "<id>.<timestamp>.<body>". */
	plen = strlen(id) + 24;
	signed_text = malloc(plen + len + 1);
	if (signed_text == NULL)
		return -1;
	n = snprintf(signed_text, plen, "%s.%ld.", id, timestamp);
	if (n < 0 || (size_t)n >= plen)
		goto out;
	memcpy(signed_text + n, body, len);
	if (HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)signed_text,
		 (size_t)n + len, mac, &maclen) == NULL)
		goto out;
	if (outlen < 3 + 4 * ((maclen + 2) / 3) + 1)
		goto out;
	memcpy(out, "v1,", 3);
	EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)maclen);
	rc = 0;
out:
	free(signed_text);
	return rc;
}
