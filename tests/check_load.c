/* The upload sink: counts what it reads, never keeps it, and refuses
 * bodies that are malformed or over its limit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libcommon/bulk.h"
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

/* No size limit: a length far past the old 256 MiB and 1 TiB limits is
 * read (here it ends early, so 400), never refused with 413. */
START_TEST(no_size_limit)
{
	struct reply r;

	run_sink("1099511627777", 1000, LQOS_SINK_MAX_BODY, &r);
	ck_assert_int_eq(r.status, 400);
	ck_assert_ptr_nonnull(strstr(r.text, "ended after 1000 of 1099511627777"));
	free(r.text);
}
END_TEST

START_TEST(bulk_ranges)
{
	uint64_t a, b, size = LQOS_BULK_BYTES;

	ck_assert_int_eq(lqos_bulk_range(NULL, size, &a, &b), 200);
	ck_assert(a == 0 && b == size - 1);
	ck_assert_int_eq(lqos_bulk_range("bytes=100-199", size, &a, &b), 206);
	ck_assert(a == 100 && b == 199);
	ck_assert_int_eq(lqos_bulk_range("bytes=100-", size, &a, &b), 206);
	ck_assert(a == 100 && b == size - 1);
	ck_assert_int_eq(lqos_bulk_range("bytes=-10", size, &a, &b), 206);
	ck_assert(a == size - 10 && b == size - 1);
	ck_assert_int_eq(lqos_bulk_range("bytes=5-99999999999999", size, &a, &b), 206);
	ck_assert(a == 5 && b == size - 1);
	ck_assert_int_eq(lqos_bulk_range("bytes=8589934592-", size, &a, &b), 416);
	ck_assert_int_eq(lqos_bulk_range("bytes=-0", size, &a, &b), 416);
	/* Malformed or several ranges: the whole object (RFC 9110 14.2). */
	ck_assert_int_eq(lqos_bulk_range("bytes=0-1,5-6", size, &a, &b), 200);
	ck_assert_int_eq(lqos_bulk_range("bytes=9-1", size, &a, &b), 200);
	ck_assert_int_eq(lqos_bulk_range("items=0-1", size, &a, &b), 200);
	ck_assert_int_eq(lqos_bulk_range("bytes=x-1", size, &a, &b), 200);
	ck_assert_int_eq(lqos_bulk_range("bytes=99999999999999999999-", size, &a, &b), 200);
	ck_assert(a == 0 && b == size - 1);
}
END_TEST

/* The same offset always gives the same bytes, whatever the alignment;
 * blocks differ from each other (nothing repeats for a compressor). */
START_TEST(bulk_bytes)
{
	static unsigned char whole[3 << 20], part[100000], other[1 << 20];
	size_t same = 0;

	lqos_bulk_fill(0, whole, sizeof(whole));
	lqos_bulk_fill(1234567, part, sizeof(part));
	ck_assert_mem_eq(part, whole + 1234567, sizeof(part));
	lqos_bulk_fill((8ULL << 30) - sizeof(other), other, sizeof(other));
	for (size_t i = 0; i < sizeof(other); i++)
		same += other[i] == whole[i] || whole[i] == whole[i + (1 << 20)];
	/* Random bytes agree by chance about 1/256 of the time per pair. */
	ck_assert_uint_lt(same, sizeof(other) / 64);
}
END_TEST

/* What Apache gets from the program: headers, then exactly the range. */
START_TEST(bulk_response)
{
	char *text = NULL;
	size_t len = 0;
	unsigned char want[100];
	FILE *f = tmpfile();
	const char *body;

	ck_assert_int_eq(lqos_bulk_respond(f, "bytes=100-199", LQOS_BULK_BYTES, 0), 206);
	fflush(f);
	len = (size_t)ftell(f);
	text = malloc(len + 1);
	rewind(f);
	ck_assert_uint_eq(fread(text, 1, len, f), len);
	text[len] = '\0';
	ck_assert_ptr_nonnull(strstr(text, "Status: 206"));
	ck_assert_ptr_nonnull(strstr(text, "Content-Range: bytes 100-199/8589934592\r\n"));
	ck_assert_ptr_nonnull(strstr(text, "Content-Length: 100\r\n"));
	ck_assert_ptr_nonnull(strstr(text, "no-transform"));
	body = strstr(text, "\r\n\r\n") + 4;
	ck_assert_uint_eq(len - (size_t)(body - text), 100);
	lqos_bulk_fill(100, want, sizeof(want));
	ck_assert_mem_eq(body, want, 100);
	fclose(f);
	free(text);

	f = tmpfile();
	ck_assert_int_eq(lqos_bulk_respond(f, NULL, LQOS_BULK_BYTES, 1), 200);
	fflush(f);
	ck_assert_int_eq(ftell(f) > 0, 1);
	len = (size_t)ftell(f);
	text = calloc(1, len + 1);
	rewind(f);
	ck_assert_uint_eq(fread(text, 1, len, f), len);
	ck_assert_ptr_nonnull(strstr(text, "Content-Length: 8589934592\r\n\r\n"));
	ck_assert_uint_eq(strlen(strstr(text, "\r\n\r\n")), 4); /* HEAD: no body */
	fclose(f);
	free(text);

	f = tmpfile();
	ck_assert_int_eq(lqos_bulk_respond(f, "bytes=9999999999-", LQOS_BULK_BYTES, 0), 416);
	fclose(f);
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
	tcase_add_test(tc, no_size_limit);
	tcase_add_test(tc, bulk_ranges);
	tcase_add_test(tc, bulk_bytes);
	tcase_add_test(tc, bulk_response);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return lqos_test_run(load_suite());
}
