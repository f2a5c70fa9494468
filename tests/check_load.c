/* The upload sink: counts what it reads, never keeps it, and refuses
 * bodies that are malformed or over its limit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libcommon/load.h"
#include "testutil.h"

/* A temporary file (with a real descriptor, as the sink reads the fd)
 * holding `n` bytes of a repeating pattern. */
static FILE *body_of(size_t n)
{
	FILE *f = tmpfile();
	char chunk[4096];

	ck_assert_ptr_nonnull(f);
	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = (char)(i * 7);
	for (size_t done = 0; done < n;) {
		size_t k = n - done < sizeof(chunk) ? n - done : sizeof(chunk);
		ck_assert_uint_eq(fwrite(chunk, 1, k, f), k);
		done += k;
	}
	rewind(f);
	return f;
}

struct reply {
	int status;
	char *text;
	size_t len;
};

static void run_sink(const char *content_length, size_t body_len, long max, struct reply *r)
{
	struct lqos_request req;
	FILE *in = body_of(body_len);
	FILE *out = open_memstream(&r->text, &r->len);

	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.content_length = content_length;
	r->status = lqos_load_sink(&req, in, out, max);
	fclose(out);
	fclose(in);
}

START_TEST(counts_content_length_bytes)
{
	struct reply r;

	run_sink("1000000", 1000000, LQOS_SINK_MAX_BODY, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.text, "Status: 200"));
	ck_assert_ptr_nonnull(strstr(r.text, "\"bytes\": 1000000"));
	free(r.text);
}
END_TEST

START_TEST(reads_only_content_length)
{
	struct reply r;

	/* More bytes follow than announced: only the announced ones count. */
	run_sink("10", 5000, LQOS_SINK_MAX_BODY, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.text, "\"bytes\": 10\n"));
	free(r.text);
}
END_TEST

START_TEST(chunked_reads_to_eof)
{
	struct reply r;

	run_sink(NULL, 300000, LQOS_SINK_MAX_BODY, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.text, "\"bytes\": 300000"));
	free(r.text);
}
END_TEST

START_TEST(empty_body_is_zero)
{
	struct reply r;

	run_sink("0", 0, LQOS_SINK_MAX_BODY, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.text, "\"bytes\": 0"));
	free(r.text);
}
END_TEST

START_TEST(over_limit_is_413)
{
	struct reply r;

	run_sink("2000", 2000, 1000, &r);
	ck_assert_int_eq(r.status, 413);
	ck_assert_ptr_nonnull(strstr(r.text, "\"success\": false"));
	free(r.text);
	run_sink(NULL, 2000, 1000, &r);
	ck_assert_int_eq(r.status, 413);
	free(r.text);
	/* Exactly the limit is fine. */
	run_sink(NULL, 1000, 1000, &r);
	ck_assert_int_eq(r.status, 200);
	free(r.text);
}
END_TEST

START_TEST(short_body_is_400)
{
	struct reply r;

	run_sink("5000", 1234, LQOS_SINK_MAX_BODY, &r);
	ck_assert_int_eq(r.status, 400);
	ck_assert_ptr_nonnull(strstr(r.text, "1234 of 5000"));
	free(r.text);
}
END_TEST

START_TEST(bad_content_length_is_400)
{
	static const char *bad[] = {"-1", "12x", " 12", "1e6", "99999999999999999999"};
	struct reply r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		run_sink(bad[i], 10, LQOS_SINK_MAX_BODY, &r);
		ck_assert_msg(r.status == 400 || r.status == 413, "%s gave %d", bad[i], r.status);
		free(r.text);
	}
}
END_TEST

static Suite *load_suite(void)
{
	Suite *s = suite_create("load");
	TCase *tc = tcase_create("sink");

	tcase_add_test(tc, counts_content_length_bytes);
	tcase_add_test(tc, reads_only_content_length);
	tcase_add_test(tc, chunked_reads_to_eof);
	tcase_add_test(tc, empty_body_is_zero);
	tcase_add_test(tc, over_limit_is_413);
	tcase_add_test(tc, short_body_is_400);
	tcase_add_test(tc, bad_content_length_is_400);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return lqos_test_run(load_suite());
}
