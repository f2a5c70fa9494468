/* One HTTP delivery attempt with libcurl. Kept apart from webhook_payload.c so
 * that only the flusher links libcurl: the CGI programs start faster. */
#include "webhook.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#ifndef LQOS_VERSION
#define LQOS_VERSION "0"
#endif

/* Discard the receiver's answer; only the status matters. */
static size_t discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	(void)ptr;
	(void)userdata;
	return size * nmemb;
}

/* One handle for the whole run: curl_easy_reset() keeps its connection
 * cache, so a burst of events reuses one keep-alive connection to the
 * portal instead of a new TCP (and TLS) handshake per event. */
static CURL *handle;

void lqos_webhook_post_done(void)
{
	if (handle != NULL)
		curl_easy_cleanup(handle);
	handle = NULL;
}

int lqos_webhook_post(const struct lqos_webhook_request *req, struct lqos_webhook_attempt *out)
{
	char legacy[128], standard[128], header[256];
	struct curl_slist *headers = NULL;
	CURL *curl = NULL;
	CURLcode cc;
	curl_off_t retry_after = -1;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->retry_after = -1;
	if (handle == NULL)
		handle = curl_easy_init();
	else
		curl_easy_reset(handle);
	curl = handle;
	if (curl == NULL) {
		snprintf(out->error, sizeof(out->error), "curl_easy_init failed");
		return -1;
	}
	headers = curl_slist_append(headers, "Content-Type: application/json");
	headers = curl_slist_append(headers, "Expect:");
	snprintf(header, sizeof(header), "webhook-id: %s", req->event_id);
	headers = curl_slist_append(headers, header);
	snprintf(header, sizeof(header), "webhook-timestamp: %ld", req->now);
	headers = curl_slist_append(headers, header);
	if (req->secret != NULL) {
		if (lqos_webhook_sign_legacy(req->secret, req->body, req->body_len, legacy,
					     sizeof(legacy)) != 0 ||
		    lqos_webhook_sign_standard(req->secret, req->event_id, req->now, req->body,
					       req->body_len, standard, sizeof(standard)) != 0) {
			snprintf(out->error, sizeof(out->error), "could not sign the payload");
			goto out;
		}
		snprintf(header, sizeof(header), "X-LibreQoS-Signature: %s", legacy);
		headers = curl_slist_append(headers, header);
		snprintf(header, sizeof(header), "webhook-signature: %s", standard);
		headers = curl_slist_append(headers, header);
	}
	curl_easy_setopt(curl, CURLOPT_URL, req->url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, req->connect_timeout);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, req->total_timeout);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "lqos-telemetry/" LQOS_VERSION " (webhook)");
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
	cc = curl_easy_perform(curl);
	if (cc != CURLE_OK) {
		snprintf(out->error, sizeof(out->error), "%s", curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->http_status);
	if (curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
	    retry_after > 0)
		out->retry_after = (long)retry_after;
	if (out->http_status >= 200 && out->http_status < 300) {
		rc = 0;
	} else if (out->http_status >= 300 && out->http_status < 400) {
		char *location = NULL;
		curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &location);
		snprintf(out->error, sizeof(out->error), "HTTP %ld redirect%s%.160s not followed",
			 out->http_status, location ? " to " : "", location ? location : "");
	} else {
		snprintf(out->error, sizeof(out->error), "HTTP %ld", out->http_status);
	}
out:
	/* The handle no longer points at the headers once reset. */
	curl_slist_free_all(headers);
	return rc;
}
