/* Webhook signatures (HMAC-SHA256): only the flusher, which delivers,
 * links this and libcrypto; payloads and the secret check are in
 * webhook_payload.c. */
#include "webhook.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int lqos_webhook_sign_standard(const char *secret, const char *id, long timestamp, const char *body,
			       size_t len, char *out, size_t outlen)
{
	unsigned char key[LQOS_WEBHOOK_KEY_MAX], mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	size_t keylen, plen;
	char *signed_text = NULL;
	int n, rc = -1;

	if (lqos_webhook_secret_key(secret, key, sizeof(key), &keylen) != 0)
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
