/* HTTP helpers: strict numbers, query strings, reading the body with its
 * limits, the content type, text cleaning, and the response format
 * every endpoint shares. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "libcommon/http.h"
#include "testutil.h"

START_TEST(parse_long_edges)
{
	long v = -7;

	ck_assert_int_eq(lqos_parse_long("0", 0, 10, &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(lqos_parse_long("42", 1, 1000, &v), 0);
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(lqos_parse_long("007", 1, 1000, &v), 0);
	ck_assert_int_eq(v, 7);
	ck_assert_int_eq(lqos_parse_long("1000", 1, 1000, &v), 0);
	ck_assert_int_eq(lqos_parse_long("1", 1, 1000, &v), 0);
	ck_assert_int_eq(lqos_parse_long("999999999999999999", 0, LONG_MAX, &v), 0);
	ck_assert_int_eq(v, 999999999999999999L);

	v = -7;
	ck_assert_int_eq(lqos_parse_long("1001", 1, 1000, &v), -1);
	ck_assert_int_eq(lqos_parse_long("0", 1, 1000, &v), -1);
	ck_assert_int_eq(lqos_parse_long("-1", -5, 1000, &v), -1);
	ck_assert_int_eq(lqos_parse_long("+1", 0, 1000, &v), -1);
	ck_assert_int_eq(lqos_parse_long(" 1", 0, 1000, &v), -1);
	ck_assert_int_eq(lqos_parse_long("1 ", 0, 1000, &v), -1);
	ck_assert_int_eq(lqos_parse_long("1\n", 0, 1000, &v), -1);
	ck_assert_int_eq(lqos_parse_long("", 0, 1000, &v), -1);
	ck_assert_int_eq(lqos_parse_long(NULL, 0, 1000, &v), -1);
	ck_assert_int_eq(lqos_parse_long("12a", 0, 1000, &v), -1);
	ck_assert_int_eq(lqos_parse_long("1.5", 0, 1000, &v), -1);
	ck_assert_int_eq(lqos_parse_long("1e3", 0, 1000, &v), -1);
	ck_assert_int_eq(lqos_parse_long("0x10", 0, 1000, &v), -1);
	ck_assert_int_eq(lqos_parse_long("99999999999999999999", 0, LONG_MAX, &v), -1);
	ck_assert_int_eq(lqos_parse_long("9223372036854775808", 0, LONG_MAX, &v), -1);
	ck_assert_int_eq(v, -7); /* untouched on failure */
}
END_TEST

static int qget(const char *query, const char *name, char *out, size_t outlen)
{
	memset(out, 'X', outlen);
	return lqos_query_get(query, name, out, outlen);
}

START_TEST(query_get_values)
{
	char out[64];

	ck_assert_int_eq(qget("a=1&b=2", "b", out, sizeof(out)), 1);
	ck_assert_str_eq(out, "2");
	ck_assert_int_eq(qget("a=1&b=2", "a", out, sizeof(out)), 1);
	ck_assert_str_eq(out, "1");
	ck_assert_int_eq(qget("limit=50&api_key=your-api-key", "api_key", out, sizeof(out)), 1);
	ck_assert_str_eq(out, "your-api-key");
	ck_assert_int_eq(qget("q=hello%20world+again", "q", out, sizeof(out)), 1);
	ck_assert_str_eq(out, "hello world again");
	ck_assert_int_eq(qget("q=%2B%2b%41%e2%82%ac", "q", out, sizeof(out)), 1);
	ck_assert_str_eq(out, "++A\xe2\x82\xac");
	ck_assert_int_eq(qget("q=a%3Db%26c", "q", out, sizeof(out)), 1);
	ck_assert_str_eq(out, "a=b&c");
	/* the first occurrence wins */
	ck_assert_int_eq(qget("limit=5&limit=6", "limit", out, sizeof(out)), 1);
	ck_assert_str_eq(out, "5");
	/* present without a value */
	ck_assert_int_eq(qget("a&b=2", "a", out, sizeof(out)), 1);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(qget("a=&b=2", "a", out, sizeof(out)), 1);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(qget("&&a=1&", "a", out, sizeof(out)), 1);
	ck_assert_str_eq(out, "1");
}
END_TEST

START_TEST(query_get_missing)
{
	char out[16];

	ck_assert_int_eq(qget(NULL, "a", out, sizeof(out)), 0);
	ck_assert_int_eq(qget("", "a", out, sizeof(out)), 0);
	ck_assert_int_eq(qget("b=1", "a", out, sizeof(out)), 0);
	/* names match whole, never as prefix or suffix */
	ck_assert_int_eq(qget("limits=5", "limit", out, sizeof(out)), 0);
	ck_assert_int_eq(qget("xlimit=5", "limit", out, sizeof(out)), 0);
	ck_assert_int_eq(qget("lim=5", "limit", out, sizeof(out)), 0);
	ck_assert_int_eq(qget("xlimit=5&limit=6", "limit", out, sizeof(out)), 1);
	ck_assert_str_eq(out, "6");
	ck_assert_int_eq(qget("LIMIT=5", "limit", out, sizeof(out)), 0);
}
END_TEST

START_TEST(query_get_malformed)
{
	char out[8];

	ck_assert_int_eq(qget("a=%", "a", out, sizeof(out)), -1);
	ck_assert_int_eq(qget("a=%4", "a", out, sizeof(out)), -1);
	ck_assert_int_eq(qget("a=%4&b=1", "a", out, sizeof(out)), -1);
	ck_assert_int_eq(qget("a=%zz", "a", out, sizeof(out)), -1);
	ck_assert_int_eq(qget("a=%g0", "a", out, sizeof(out)), -1);
	ck_assert_int_eq(qget("a=x%00y", "a", out, sizeof(out)), -1); /* NUL */
	/* overlong: 7 bytes fit in 8 with the NUL, 8 do not */
	ck_assert_int_eq(qget("a=1234567", "a", out, sizeof(out)), 1);
	ck_assert_str_eq(out, "1234567");
	ck_assert_int_eq(qget("a=12345678", "a", out, sizeof(out)), -1);
	ck_assert_int_eq(qget("a=%31%32%33%34%35%36%37%38", "a", out, sizeof(out)), -1);
	ck_assert_int_eq(qget("a", "a", out, 0), -1);
	/* a malformed other parameter does not matter */
	ck_assert_int_eq(qget("b=%zz&a=1", "a", out, sizeof(out)), 1);
	ck_assert_str_eq(out, "1");
}
END_TEST

/* Run lqos_request_read_body over `input` with CONTENT_LENGTH `cl`. */
static int read_body(const char *cl, const char *input, size_t inlen, size_t max,
		     struct lqos_request *req, char *why, size_t whylen)
{
	FILE *in = fmemopen((void *)(inlen ? input : "x"), inlen ? inlen : 1, "r");
	int rc;

	ck_assert_ptr_nonnull(in);
	if (inlen == 0)
		fgetc(in); /* an empty stream */
	memset(req, 0, sizeof(*req));
	req->content_length = cl;
	why[0] = '\0';
	rc = lqos_request_read_body(req, in, max, why, whylen);
	fclose(in);
	return rc;
}

START_TEST(body_length_required)
{
	struct lqos_request req;
	char why[256];

	ck_assert_int_eq(read_body(NULL, "{}", 2, 100, &req, why, sizeof(why)), 411);
	ck_assert_msg(strstr(why, "Content-Length") != NULL, "why: %s", why);
	ck_assert_int_eq(read_body("", "{}", 2, 100, &req, why, sizeof(why)), 411);
	ck_assert_ptr_null(req.body);
}
END_TEST

START_TEST(body_bad_length)
{
	struct lqos_request req;
	char why[256];

	ck_assert_int_eq(read_body("abc", "{}", 2, 100, &req, why, sizeof(why)), 400);
	ck_assert_int_eq(read_body("-1", "{}", 2, 100, &req, why, sizeof(why)), 400);
	ck_assert_int_eq(read_body("2 ", "{}", 2, 100, &req, why, sizeof(why)), 400);
	ck_assert_int_eq(read_body("0", "", 0, 100, &req, why, sizeof(why)), 400);
	ck_assert_msg(strstr(why, "empty") != NULL, "why: %s", why);
	ck_assert_ptr_null(req.body);
}
END_TEST

START_TEST(body_over_limit)
{
	struct lqos_request req;
	char why[256];

	ck_assert_int_eq(read_body("101", "{}", 2, 100, &req, why, sizeof(why)), 413);
	ck_assert_msg(strstr(why, "limit is 100 bytes") != NULL, "why: %s", why);
	ck_assert_ptr_null(req.body);
	ck_assert_int_eq(read_body("99999999999", "{}", 2, 100, &req, why, sizeof(why)), 413);
	ck_assert_int_eq(read_body("65537", "{}", 2, LQOS_MAX_BODY, &req, why, sizeof(why)), 413);
}
END_TEST

START_TEST(body_short)
{
	struct lqos_request req;
	char why[256];

	ck_assert_int_eq(read_body("10", "12345", 5, 100, &req, why, sizeof(why)), 400);
	ck_assert_msg(strstr(why, "5 of 10") != NULL, "why: %s", why);
	lqos_request_free(&req);
	ck_assert_ptr_null(req.body);
}
END_TEST

START_TEST(body_exact)
{
	struct lqos_request req;
	char why[256];
	static const char nul_inside[] = {'{', '\0', '}'};

	ck_assert_int_eq(read_body("5", "12345", 5, 100, &req, why, sizeof(why)), 0);
	ck_assert_uint_eq(req.body_len, 5);
	ck_assert_str_eq(req.body, "12345");
	lqos_request_free(&req);
	/* exactly the limit is fine */
	ck_assert_int_eq(read_body("100",
				   "................................................"
				   "................................................"
				   "....",
				   100, 100, &req, why, sizeof(why)),
			 0);
	ck_assert_uint_eq(req.body_len, 100);
	lqos_request_free(&req);
	/* never more than Content-Length, even when more is there */
	ck_assert_int_eq(read_body("3", "abcdef", 6, 100, &req, why, sizeof(why)), 0);
	ck_assert_str_eq(req.body, "abc");
	lqos_request_free(&req);
	/* binary bytes are kept with their length */
	ck_assert_int_eq(read_body("3", nul_inside, 3, 100, &req, why, sizeof(why)), 0);
	ck_assert_uint_eq(req.body_len, 3);
	ck_assert_mem_eq(req.body, nul_inside, 3);
	lqos_request_free(&req);
}
END_TEST

START_TEST(body_large)
{
	struct lqos_request req;
	char why[256];
	char *big = malloc(LQOS_MAX_BODY);

	ck_assert_ptr_nonnull(big);
	memset(big, 'z', LQOS_MAX_BODY);
	ck_assert_int_eq(
		read_body("65536", big, LQOS_MAX_BODY, LQOS_MAX_BODY, &req, why, sizeof(why)), 0);
	ck_assert_uint_eq(req.body_len, LQOS_MAX_BODY);
	ck_assert_int_eq(req.body[LQOS_MAX_BODY - 1], 'z');
	ck_assert_int_eq(req.body[LQOS_MAX_BODY], '\0');
	lqos_request_free(&req);
	free(big);
}
END_TEST

START_TEST(content_type)
{
	ck_assert(lqos_content_type_is_json("application/json"));
	ck_assert(lqos_content_type_is_json("application/json; charset=utf-8"));
	ck_assert(lqos_content_type_is_json("application/json;charset=UTF-8"));
	ck_assert(lqos_content_type_is_json("Application/JSON"));
	ck_assert(lqos_content_type_is_json("application/json ; charset=utf-8"));
	ck_assert(!lqos_content_type_is_json("application/jsonx"));
	ck_assert(!lqos_content_type_is_json("application/json-patch+json"));
	ck_assert(!lqos_content_type_is_json("text/plain"));
	ck_assert(!lqos_content_type_is_json("application/x-www-form-urlencoded"));
	ck_assert(!lqos_content_type_is_json("multipart/form-data; boundary=x"));
	ck_assert(!lqos_content_type_is_json(" application/json"));
	ck_assert(!lqos_content_type_is_json("application/"));
	ck_assert(!lqos_content_type_is_json(""));
	ck_assert(!lqos_content_type_is_json(NULL));
}
END_TEST

static void assert_clean(const char *in, size_t max, const char *want)
{
	char *out = lqos_text_clean(in, max);

	ck_assert_ptr_nonnull(out);
	ck_assert_msg(strcmp(out, want) == 0, "clean('%s', %zu) = '%s', want '%s'", in, max, out,
		      want);
	free(out);
}

START_TEST(text_clean)
{
	ck_assert_ptr_null(lqos_text_clean(NULL, 10));
	assert_clean("Mozilla/5.0 (X11; Linux x86_64)", 512, "Mozilla/5.0 (X11; Linux x86_64)");
	assert_clean("", 512, "");
	assert_clean("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 512,
		     "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80");
	/* control characters */
	assert_clean("a\x01"
		     "b\nc\td\x7f"
		     "e\x1b[31m",
		     512, "a?b?c?d?e?[31m");
	/* invalid UTF-8: stray bytes, overlong, surrogates, beyond U+10FFFF, cut */
	assert_clean("a\xff"
		     "b",
		     512, "a?b");
	assert_clean("\x80", 512, "?");
	assert_clean("\xc0\xaf", 512, "??");
	assert_clean("\xe0\x80\xaf", 512, "???");
	assert_clean("\xed\xa0\x80", 512, "???");
	assert_clean("\xf4\x90\x80\x80", 512, "????");
	assert_clean("\xf5\x80\x80\x80", 512, "????");
	assert_clean("ok\xe2\x82", 512, "ok??");
	assert_clean("\xc3", 512, "?");
}
END_TEST

START_TEST(text_clean_truncates_on_char_boundary)
{
	assert_clean("abcdef", 3, "abc");
	assert_clean("abcdef", 0, "");
	/* the euro sign is 3 bytes: never half of it */
	assert_clean("ab\xe2\x82\xac", 4, "ab");
	assert_clean("ab\xe2\x82\xac", 3, "ab");
	assert_clean("ab\xe2\x82\xac", 5, "ab\xe2\x82\xac");
	assert_clean("\xf0\x9f\x98\x80\xf0\x9f\x98\x80", 7, "\xf0\x9f\x98\x80");
	assert_clean("a\x01"
		     "b",
		     2, "a?");
	{
		char *out = lqos_text_clean("\xc3\xa9\xc3\xa9\xc3\xa9", 5);
		ck_assert_uint_eq(strlen(out), 4);
		json_t *js = json_string(out); /* NULL unless valid UTF-8 */
		ck_assert_ptr_nonnull(js);
		json_decref(js);
		free(out);
	}
}
END_TEST

/* Split a CGI response into its header block and body. */
struct cgi_out {
	char *text;
	size_t len;
	char *headers; /* points into text */
	char *body; /* points into text */
};

static void capture_error(struct cgi_out *o, int status, const char *extra, const char *msg)
{
	FILE *f = open_memstream(&o->text, &o->len);
	char *sep;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(lqos_respond_error(f, status, extra, "%s", msg), status);
	fclose(f);
	sep = strstr(o->text, "\r\n\r\n");
	ck_assert_msg(sep != NULL, "no blank line after the headers: %s", o->text);
	sep[2] = '\0';
	o->headers = o->text;
	o->body = sep + 4;
}

static json_t *parse_body(const char *body)
{
	json_error_t err;
	json_t *j = json_loads(body, JSON_REJECT_DUPLICATES, &err);

	ck_assert_msg(j != NULL, "body is not JSON (%s): %s", err.text, body);
	return j;
}

START_TEST(respond_error_format)
{
	struct cgi_out o;
	json_t *j;

	capture_error(&o, 404, NULL, "no such API endpoint");
	ck_assert_msg(strncmp(o.headers, "Status: 404 Not Found\r\n", 23) == 0, "%s", o.headers);
	ck_assert_ptr_nonnull(
		strstr(o.headers, "\r\nContent-Type: application/json; charset=utf-8\r\n"));
	ck_assert_ptr_nonnull(strstr(o.headers, "\r\nCache-Control: no-store\r\n"));
	j = parse_body(o.body);
	ck_assert_uint_eq(json_object_size(j), 2);
	ck_assert(json_is_false(json_object_get(j, "success")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "error")), "no such API endpoint");
	json_decref(j);
	free(o.text);
}
END_TEST

START_TEST(respond_error_extra_headers)
{
	struct cgi_out o;

	capture_error(&o, 405, "Allow: GET\r\n", "method POST is not allowed here; use GET");
	ck_assert_msg(strncmp(o.headers, "Status: 405 Method Not Allowed\r\n", 32) == 0, "%s",
		      o.headers);
	ck_assert_ptr_nonnull(strstr(o.headers, "\r\nAllow: GET\r\n"));
	free(o.text);
	capture_error(&o, 429, "Retry-After: 120\r\n", "slow down");
	ck_assert_msg(strncmp(o.headers, "Status: 429 Too Many Requests\r\n", 31) == 0, "%s",
		      o.headers);
	ck_assert_ptr_nonnull(strstr(o.headers, "\r\nRetry-After: 120\r\n"));
	free(o.text);
}
END_TEST

START_TEST(respond_error_escapes_message)
{
	struct cgi_out o;
	json_t *j;
	const char *msg = "quote \" backslash \\ newline \n tab \t </script>";

	capture_error(&o, 400, NULL, msg);
	j = parse_body(o.body);
	ck_assert_str_eq(json_string_value(json_object_get(j, "error")), msg);
	json_decref(j);
	free(o.text);
}
END_TEST

/* Messages may quote request data (a bad IP in the URL): bytes that are
 * not UTF-8 must not lose the message. */
START_TEST(respond_error_invalid_utf8_argument)
{
	struct cgi_out o;
	json_t *j;
	const char *err;

	capture_error(&o, 400, NULL,
		      "'\xff\xfe"
		      "1.2.3.4' is not a valid IPv4 or IPv6 address");
	j = parse_body(o.body);
	err = json_string_value(json_object_get(j, "error"));
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, "is not a valid IPv4 or IPv6 address") != NULL, "error: %s", err);
	json_decref(j);
	free(o.text);
}
END_TEST

START_TEST(respond_error_long_message)
{
	struct cgi_out o;
	json_t *j;
	char msg[3000];

	/* 2-byte characters so a byte limit could cut one in half */
	for (size_t i = 0; i + 2 < sizeof(msg); i += 2) {
		msg[i] = (char)0xc3;
		msg[i + 1] = (char)0xa9;
	}
	msg[sizeof(msg) - 2] = '\0';
	capture_error(&o, 400, NULL, msg);
	j = parse_body(o.body);
	ck_assert(json_is_string(json_object_get(j, "error")));
	ck_assert_uint_gt(json_string_length(json_object_get(j, "error")), 500);
	json_decref(j);
	free(o.text);
}
END_TEST

START_TEST(respond_json_success)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	json_t *j;

	ck_assert_int_eq(lqos_respond_json(f, 200, NULL,
					   json_pack("{s:b, s:f, s:s}", "success", 1,
						     "download_mbps", 115.6, "grade", "A+")),
			 200);
	fclose(f);
	ck_assert(strncmp(text, "Status: 200 OK\r\n", 16) == 0);
	j = parse_body(strstr(text, "\r\n\r\n") + 4);
	ck_assert(json_is_true(json_object_get(j, "success")));
	ck_assert(json_real_value(json_object_get(j, "download_mbps")) == 115.6);
	ck_assert_str_eq(json_string_value(json_object_get(j, "grade")), "A+");
	json_decref(j);
	free(text);
}
END_TEST

START_TEST(status_texts)
{
	ck_assert_str_eq(lqos_status_text(400), "Bad Request");
	ck_assert_str_eq(lqos_status_text(401), "Unauthorized");
	ck_assert_str_eq(lqos_status_text(411), "Length Required");
	ck_assert_str_eq(lqos_status_text(413), "Payload Too Large");
	ck_assert_str_eq(lqos_status_text(415), "Unsupported Media Type");
	ck_assert_str_eq(lqos_status_text(503), "Service Unavailable");
}
END_TEST

START_TEST(request_from_env)
{
	struct lqos_request req;

	setenv("REQUEST_METHOD", "POST", 1);
	setenv("PATH_INFO", "/192.168.1.100", 1);
	setenv("QUERY_STRING", "limit=5", 1);
	setenv("CONTENT_TYPE", "application/json", 1);
	setenv("CONTENT_LENGTH", "12", 1);
	setenv("REMOTE_ADDR", "::ffff:192.0.2.1", 1);
	setenv("HTTP_USER_AGENT", "curl/8.0", 1);
	setenv("HTTP_X_API_KEY", "k1", 1);
	setenv("HTTP_X_FORWARDED_FOR", "198.51.100.7", 1);
	unsetenv("HTTP_AUTHORIZATION");
	setenv("REDIRECT_HTTP_AUTHORIZATION", "Bearer k2", 1);
	lqos_request_from_env(&req);
	ck_assert_str_eq(req.method, "POST");
	ck_assert_str_eq(req.path_info, "/192.168.1.100");
	ck_assert_str_eq(req.query, "limit=5");
	ck_assert_str_eq(req.content_type, "application/json");
	ck_assert_str_eq(req.content_length, "12");
	ck_assert_str_eq(req.remote_addr, "::ffff:192.0.2.1");
	ck_assert_str_eq(req.user_agent, "curl/8.0");
	ck_assert_str_eq(req.x_api_key, "k1");
	ck_assert_str_eq(req.x_forwarded_for, "198.51.100.7");
	/* after a mod_rewrite redirect the header arrives renamed */
	ck_assert_str_eq(req.authorization, "Bearer k2");
	setenv("HTTP_AUTHORIZATION", "Bearer k3", 1);
	lqos_request_from_env(&req);
	ck_assert_str_eq(req.authorization, "Bearer k3");
	ck_assert_ptr_null(req.body);
	unsetenv("QUERY_STRING");
	lqos_request_from_env(&req);
	ck_assert_ptr_null(req.query);
}
END_TEST

static Suite *http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("parsing");

	tcase_add_test(tc, parse_long_edges);
	tcase_add_test(tc, query_get_values);
	tcase_add_test(tc, query_get_missing);
	tcase_add_test(tc, query_get_malformed);
	tcase_add_test(tc, content_type);
	tcase_add_test(tc, text_clean);
	tcase_add_test(tc, text_clean_truncates_on_char_boundary);
	tcase_add_test(tc, request_from_env);
	suite_add_tcase(s, tc);

	tc = tcase_create("body");
	tcase_add_test(tc, body_length_required);
	tcase_add_test(tc, body_bad_length);
	tcase_add_test(tc, body_over_limit);
	tcase_add_test(tc, body_short);
	tcase_add_test(tc, body_exact);
	tcase_add_test(tc, body_large);
	suite_add_tcase(s, tc);

	tc = tcase_create("response");
	tcase_add_test(tc, respond_error_format);
	tcase_add_test(tc, respond_error_extra_headers);
	tcase_add_test(tc, respond_error_escapes_message);
	tcase_add_test(tc, respond_error_invalid_utf8_argument);
	tcase_add_test(tc, respond_error_long_message);
	tcase_add_test(tc, respond_json_success);
	tcase_add_test(tc, status_texts);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return lqos_test_run(http_suite());
}
