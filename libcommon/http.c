#include "http.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *env_or_null(const char *name)
{
	const char *v = getenv(name);

	return v;
}

void lqos_request_from_env(struct lqos_request *req)
{
	memset(req, 0, sizeof(*req));
	req->method = env_or_null("REQUEST_METHOD");
	req->path_info = env_or_null("PATH_INFO");
	req->query = env_or_null("QUERY_STRING");
	req->content_type = env_or_null("CONTENT_TYPE");
	req->content_length = env_or_null("CONTENT_LENGTH");
	req->remote_addr = env_or_null("REMOTE_ADDR");
	req->user_agent = env_or_null("HTTP_USER_AGENT");
	req->authorization = env_or_null("HTTP_AUTHORIZATION");
	if (req->authorization == NULL)
		req->authorization = env_or_null("REDIRECT_HTTP_AUTHORIZATION");
	req->x_api_key = env_or_null("HTTP_X_API_KEY");
	req->x_forwarded_for = env_or_null("HTTP_X_FORWARDED_FOR");
	req->transfer_encoding = env_or_null("HTTP_TRANSFER_ENCODING");
	req->idempotency_key = env_or_null("HTTP_IDEMPOTENCY_KEY");
}

void lqos_request_free(struct lqos_request *req)
{
	free(req->body);
	req->body = NULL;
	req->body_len = 0;
}

int lqos_parse_long(const char *text, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (text == NULL || text[0] < '0' || text[0] > '9' || strlen(text) > 18)
		return -1;
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int lqos_request_read_body(struct lqos_request *req, FILE *in, size_t max, char *why, size_t whylen)
{
	long len;
	size_t got = 0;

	if (req->content_length == NULL || req->content_length[0] == '\0') {
		snprintf(why, whylen, "a request body with a Content-Length header is required");
		return 411;
	}
	if (lqos_parse_long(req->content_length, 0, 1L << 40, &len) != 0) {
		snprintf(why, whylen, "Content-Length is not a valid number");
		return 400;
	}
	if ((size_t)len > max) {
		snprintf(why, whylen, "request body is %ld bytes; the limit is %zu bytes", len,
			 max);
		return 413;
	}
	if (len == 0) {
		snprintf(why, whylen, "request body is empty; send the test result as JSON");
		return 400;
	}
	req->body = malloc((size_t)len + 1);
	if (req->body == NULL) {
		snprintf(why, whylen, "out of memory");
		return 503;
	}
	while (got < (size_t)len) {
		size_t n = fread(req->body + got, 1, (size_t)len - got, in);
		if (n == 0)
			break;
		got += n;
	}
	req->body[got] = '\0';
	req->body_len = got;
	if (got != (size_t)len) {
		snprintf(why, whylen, "request body ended after %zu of %ld bytes", got, len);
		return 400;
	}
	return 0;
}

bool lqos_content_type_is_json(const char *ct)
{
	size_t n = strlen("application/json");

	if (ct == NULL || strncasecmp(ct, "application/json", n) != 0)
		return false;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode [s, s+len) into out; -1 on bad escape, NUL byte or overflow. */
static int url_decode(const char *s, size_t len, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;
			if (i + 2 >= len)
				return -1;
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c == 0 || o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

int lqos_query_get(const char *query, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name);
	const char *p = query;

	if (query == NULL)
		return 0;
	while (*p != '\0') {
		const char *amp = strchr(p, '&');
		const char *end = amp ? amp : p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(end - p));
		const char *kend = eq ? eq : end;

		if ((size_t)(kend - p) == nlen && memcmp(p, name, nlen) == 0) {
			if (eq == NULL) {
				if (outlen == 0)
					return -1;
				out[0] = '\0';
				return 1;
			}
			return url_decode(eq + 1, (size_t)(end - eq - 1), out, outlen) == 0 ? 1
											    : -1;
		}
		if (amp == NULL)
			break;
		p = amp + 1;
	}
	return 0;
}

int lqos_respond_tests(FILE *out, const char *head, const char *rows, size_t rows_len)
{
	fputs("Status: 200 OK\r\n"
	      "Content-Type: application/json; charset=utf-8\r\n"
	      "Cache-Control: no-store\r\n"
	      "X-Content-Type-Options: nosniff\r\n\r\n",
	      out);
	fprintf(out, "{\n  %s,\n  \"tests\": [", head);
	fwrite(rows, 1, rows_len, out);
	fputs(rows_len ? "\n  ]\n}\n" : "]\n}\n", out);
	fflush(out);
	return 200;
}

const char *lqos_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

int lqos_respond_json(FILE *out, int status, const char *extra_headers, json_t *body)
{
	char *text = json_dumps(body, JSON_INDENT(2) | JSON_REAL_PRECISION(15));

	fprintf(out, "Status: %d %s\r\n", status, lqos_status_text(status));
	fputs("Content-Type: application/json; charset=utf-8\r\n", out);
	fputs("Cache-Control: no-store\r\n", out);
	fputs("X-Content-Type-Options: nosniff\r\n", out);
	if (extra_headers != NULL)
		fputs(extra_headers, out);
	fputs("\r\n", out);
	if (text != NULL) {
		fputs(text, out);
		fputc('\n', out);
	} else {
		fputs("{\"success\": false, \"error\": \"out of memory\"}\n", out);
	}
	fflush(out);
	free(text);
	json_decref(body);
	return status;
}

int lqos_respond_error(FILE *out, int status, const char *extra_headers, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	json_t *text;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* A message quoting request bytes, or cut by the buffer inside a
	 * character, is not UTF-8: Jansson refuses it, so clean it rather
	 * than lose it. */
	text = json_string(msg);
	if (text == NULL) {
		char *clean = lqos_text_clean(msg, sizeof(msg));
		text = clean ? json_string(clean) : NULL;
		free(clean);
	}
	return lqos_respond_json(out, status, extra_headers,
				 json_pack("{s:b, s:o}", "success", 0, "error", text));
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid. */
size_t lqos_utf8_seq_len(const unsigned char *s, size_t avail)
{
	size_t n;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n > avail)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

char *lqos_text_clean(const char *s, size_t max)
{
	size_t len, o = 0;
	char *out;

	if (s == NULL)
		return NULL;
	len = strlen(s);
	out = malloc((len < max ? len : max) + 1);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len;) {
		const unsigned char *c = (const unsigned char *)s + i;
		size_t n = lqos_utf8_seq_len(c, len - i);
		if (n == 0 || (n == 1 && (*c < 0x20 || *c == 0x7f))) {
			if (o + 1 > max)
				break;
			out[o++] = '?';
			i += n ? n : 1;
			continue;
		}
		if (o + n > max)
			break;
		memcpy(out + o, c, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	return out;
}
