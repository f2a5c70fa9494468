/* The CGI request and the JSON responses: one request struct read from
 * the environment, one helper for every error. */
#ifndef LQOS_HTTP_H
#define LQOS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#define LQOS_MAX_BODY (64 * 1024)

struct lqos_request {
	/* Borrowed from the environment; never freed. NULL when absent. */
	const char *method;
	const char *path_info;
	const char *query;
	const char *content_type;
	const char *content_length;
	const char *remote_addr;
	const char *user_agent;
	const char *authorization;
	const char *x_api_key;
	const char *x_forwarded_for;
	const char *transfer_encoding; /* a body without Content-Length */
	const char *idempotency_key; /* Idempotency-Key (POST /api/telemetry) */
	/* Owned: filled by lqos_request_read_body(), freed by
	 * lqos_request_free(). NUL-terminated for convenience. */
	char *body;
	size_t body_len;
};

/* Fill `req` from the CGI environment variables. */
void lqos_request_from_env(struct lqos_request *req);

/* Free what the request owns. */
void lqos_request_free(struct lqos_request *req);

/* Read exactly CONTENT_LENGTH bytes (at most `max`) from `in`.
 * Returns 0, or the HTTP status to answer with (411, 413, 400) and a
 * message in `why`. */
int lqos_request_read_body(struct lqos_request *req, FILE *in, size_t max, char *why,
			   size_t whylen);

/* True when the content type is application/json (parameters allowed). */
bool lqos_content_type_is_json(const char *content_type);

/* Find `name` in a query string and URL-decode its value into `out`.
 * Returns 1 when found, 0 when absent, -1 when malformed or too long. */
int lqos_query_get(const char *query, const char *name, char *out, size_t outlen);

/* Parse a decimal integer strictly (no sign, no spaces, no trailing
 * junk) into `out` and check lo..hi. Returns 0 or -1. */
int lqos_parse_long(const char *text, long lo, long hi, long *out);

/* Write a complete CGI response: Status, JSON content type, no-store,
 * any `extra_headers` (each line ending in \r\n, may be NULL), and
 * `body` serialised. Steals the reference to `body`. Returns status. */
int lqos_respond_json(FILE *out, int status, const char *extra_headers, json_t *body);

/* The one error helper: {"success": false, "error": msg} with `status`.
 * Returns status. */
int lqos_respond_error(FILE *out, int status, const char *extra_headers, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* A 200 whose JSON body is `head` (members, e.g. "\"success\": true,
 * \"limit\": 5"), then "tests": [ `rows` ] — rows already written as
 * JSON objects by lqos_rows_write(). Returns 200. */
int lqos_respond_tests(FILE *out, const char *head, const char *rows, size_t rows_len);

/* Reason phrase for a status code. */
const char *lqos_status_text(int status);

/* Length (1..4) of the valid UTF-8 sequence at `s` (at most `avail`
 * bytes), or 0 when it is not valid UTF-8. */
size_t lqos_utf8_seq_len(const unsigned char *s, size_t avail);

/* Copy of `s` safe to store and serve: at most `max` bytes, invalid
 * UTF-8 and control characters replaced by '?'. Caller frees. NULL in,
 * NULL out. */
char *lqos_text_clean(const char *s, size_t max);

#endif
