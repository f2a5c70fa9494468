/* Submitted results: both formats (this project's browser test and the
 * original LibreQoS client, SPEC section 7), every rejection, and the
 * server's own grading of what was accepted. */
#include <math.h>
#include <string.h>

#include <jansson.h>

#include "libcommon/result.h"
#include "testfs.h"
#include "testutil.h"

#define G(x) LQOS_GRADE_##x

static struct lqos_result r;
static char why[512];

static int parse_text(const char *text)
{
	why[0] = '\0';
	return lqos_result_parse(text, strlen(text), &r, why, sizeof(why));
}

static int parse_fixture(const char *name)
{
	size_t len;
	char *text = lqos_test_fixture(name, &len);
	int rc;

	why[0] = '\0';
	rc = lqos_result_parse(text, len, &r, why, sizeof(why));
	free(text);
	return rc;
}

/* Load a fixture, let `edit` change it, and parse the result. */
static int parse_edited(const char *name, void (*edit)(json_t *root))
{
	size_t len;
	char *text = lqos_test_fixture(name, &len);
	json_error_t err;
	json_t *root = json_loadb(text, len, 0, &err);
	char *out;
	int rc;

	ck_assert_ptr_nonnull(root);
	free(text);
	edit(root);
	out = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	rc = parse_text(out);
	free(out);
	return rc;
}

static json_t *at(json_t *root, const char *a, const char *b)
{
	json_t *v = json_object_get(root, a);

	return b ? json_object_get(v, b) : v;
}

static void assert_rejected(const char *text, const char *needle)
{
	ck_assert_msg(parse_text(text) == -1, "accepted: %s", text);
	ck_assert_msg(strstr(why, needle) != NULL, "why '%s' lacks '%s' for %s", why, needle, text);
}

/* ------------------------------------------------------------ native */

START_TEST(native_single_user)
{
	ck_assert_int_eq(parse_fixture("native_single.json"), 0);
	ck_assert_int_eq(r.type, LQOS_TEST_SINGLE_USER);
	ck_assert_int_eq(r.format, LQOS_FORMAT_NATIVE);
	ck_assert(r.telemetry_enabled);
	ck_assert_double_eq(r.baseline_latency_ms, 12.3);
	ck_assert_double_eq(r.test_duration_seconds, 40.2);
	ck_assert_double_eq(r.download_mbps, 115.6);
	ck_assert_double_eq(r.upload_mbps, 23.4);
	ck_assert_double_eq(r.phase[LQOS_PHASE_DOWNLOAD].latency_increase_ms, 45.2);
	ck_assert_double_eq(r.phase[LQOS_PHASE_DOWNLOAD].latency_p90_ms, 61.0);
	ck_assert_double_eq(r.phase[LQOS_PHASE_UPLOAD].jitter_ms, 6.2);
	ck_assert_double_eq(r.phase[LQOS_PHASE_BIDIRECTIONAL].throughput_mbps, 120.0);
	ck_assert_str_eq(r.server_name, "speedtest-fixture");
}
END_TEST

START_TEST(native_single_user_minimal)
{
	ck_assert_int_eq(
		parse_text("{\"test_type\": \"single_user\", \"baseline_latency_ms\": 10,"
			   " \"download\": {\"throughput_mbps\": 50, \"latency_increase_ms\": 1},"
			   " \"upload\": {\"throughput_mbps\": 10, \"latency_increase_ms\": 2},"
			   " \"bidirectional\": {\"throughput_mbps\": 40, \"latency_increase_ms\": "
			   "3}}"),
		0);
	ck_assert(isnan(r.test_duration_seconds));
	ck_assert(isnan(r.phase[LQOS_PHASE_DOWNLOAD].jitter_ms));
	ck_assert(isnan(r.phase[LQOS_PHASE_UPLOAD].latency_p50_ms));
	ck_assert_str_eq(r.server_name, "");
	/* null is the same as absent for optional fields */
	ck_assert_int_eq(
		parse_text("{\"test_type\": \"single_user\", \"baseline_latency_ms\": 10,"
			   " \"test_duration_seconds\": null, \"server_name\": null,"
			   " \"download\": {\"throughput_mbps\": 50, \"latency_increase_ms\": 1,"
			   " \"jitter_ms\": null},"
			   " \"upload\": {\"throughput_mbps\": 10, \"latency_increase_ms\": 2},"
			   " \"bidirectional\": {\"throughput_mbps\": 40, \"latency_increase_ms\": "
			   "3}}"),
		0);
}
END_TEST

START_TEST(native_household)
{
	ck_assert_int_eq(parse_fixture("native_household.json"), 0);
	ck_assert_int_eq(r.type, LQOS_TEST_HOUSEHOLD);
	ck_assert_int_eq(r.format, LQOS_FORMAT_NATIVE);
	ck_assert_double_eq(r.download_mbps, 95.5);
	ck_assert_double_eq(r.upload_mbps, 19.25);
	ck_assert_double_eq(r.alex_latency_increase_ms, 3.0);
	ck_assert_double_eq(r.sarah_delivered_pct, 99.0);
	ck_assert_double_eq(r.jake_fetch_ratio_p90, 0.6);
	ck_assert_double_eq(r.jake_stalls, 0);
	ck_assert_double_eq(r.computer_spare_share_pct, 50.0);
	ck_assert_double_eq(r.computer_throughput_mbps, 40.0);
}
END_TEST

/* --------------------------------------------------- original client */

START_TEST(original_single)
{
	ck_assert_int_eq(parse_fixture("original_single.json"), 0);
	ck_assert_int_eq(r.type, LQOS_TEST_SINGLE_USER);
	ck_assert_int_eq(r.format, LQOS_FORMAT_ORIGINAL);
	ck_assert(r.telemetry_enabled);
	ck_assert_double_eq(r.baseline_latency_ms, 12.3);
	ck_assert_double_eq(r.download_mbps, 115.6);
	ck_assert_double_eq(r.upload_mbps, 23.4);
	ck_assert_double_eq(r.phase[LQOS_PHASE_DOWNLOAD].throughput_mbps, 115.6);
	ck_assert_double_eq(r.phase[LQOS_PHASE_UPLOAD].throughput_mbps, 23.4);
	ck_assert_double_eq(r.phase[LQOS_PHASE_DOWNLOAD].latency_increase_ms, 45.2);
	ck_assert_double_eq(r.phase[LQOS_PHASE_UPLOAD].latency_increase_ms, 78.9);
	ck_assert_double_eq(r.phase[LQOS_PHASE_BIDIRECTIONAL].latency_increase_ms, 67.1);
	ck_assert_double_eq(r.test_duration_seconds, 40);
	/* server_info beside results */
	ck_assert_str_eq(r.server_name, "original-fixture");
}
END_TEST

static void set_type_single_user(json_t *root)
{
	json_object_set_new(at(root, "results", NULL), "test_type", json_string("single_user"));
}

static void server_info_inside(json_t *root)
{
	json_object_del(root, "server_info");
	json_object_set_new(at(root, "results", NULL), "server_info",
			    json_pack("{s:s}", "server_name", "inside-results"));
}

static void no_server_info(json_t *root)
{
	json_object_del(root, "server_info");
	json_object_del(root, "timestamp");
}

static void grades_as_letters(json_t *root)
{
	json_object_set_new(at(root, "results", NULL), "grades",
			    json_pack("{s:s, s:s, s:s, s:s}", "overall", "A+", "download", "A",
				      "upload", "B", "bidirectional", "F"));
}

static void no_grades(json_t *root)
{
	json_object_del(at(root, "results", NULL), "grades");
	json_object_del(at(root, "results", "metrics"), "test_duration_seconds");
}

static void telemetry_disabled(json_t *root)
{
	json_object_set_new(root, "telemetry_enabled", json_false());
}

START_TEST(original_single_variants)
{
	ck_assert_int_eq(parse_edited("original_single.json", set_type_single_user), 0);
	ck_assert_int_eq(r.type, LQOS_TEST_SINGLE_USER);
	ck_assert_int_eq(parse_edited("original_single.json", server_info_inside), 0);
	ck_assert_str_eq(r.server_name, "inside-results");
	ck_assert_int_eq(parse_edited("original_single.json", no_server_info), 0);
	ck_assert_str_eq(r.server_name, "");
	ck_assert_int_eq(parse_edited("original_single.json", grades_as_letters), 0);
	ck_assert_int_eq(parse_edited("original_single.json", no_grades), 0);
	ck_assert(isnan(r.test_duration_seconds));
	ck_assert_int_eq(parse_edited("original_single.json", telemetry_disabled), 0);
	ck_assert(!r.telemetry_enabled);
}
END_TEST

START_TEST(original_household)
{
	ck_assert_int_eq(parse_fixture("original_household.json"), 0);
	ck_assert_int_eq(r.type, LQOS_TEST_HOUSEHOLD);
	ck_assert_int_eq(r.format, LQOS_FORMAT_ORIGINAL);
	ck_assert_int_eq(r.user_letters[LQOS_USER_ALEX], G(A));
	ck_assert_int_eq(r.user_letters[LQOS_USER_SARAH], G(B));
	ck_assert_int_eq(r.user_letters[LQOS_USER_JAKE], G(A_PLUS));
	ck_assert_int_eq(r.user_letters[LQOS_USER_COMPUTER], G(C));
	ck_assert_double_eq(r.download_mbps, 80.0);
	ck_assert_str_eq(r.server_name, "original-household-fixture");
}
END_TEST

static void type_virtual_household(json_t *root)
{
	json_object_set_new(at(root, "results", NULL), "test_type",
			    json_string("virtual_household"));
	json_object_set_new(at(root, "results", "household_metrics"), "computer_performance",
			    json_pack("{s:s, s:s}", "grade", "F", "cssClass", "f"));
}

START_TEST(original_household_variants)
{
	ck_assert_int_eq(parse_edited("original_household.json", type_virtual_household), 0);
	ck_assert_int_eq(r.type, LQOS_TEST_HOUSEHOLD);
	ck_assert_int_eq(r.user_letters[LQOS_USER_COMPUTER], G(F));
}
END_TEST

START_TEST(telemetry_enabled_must_be_bool)
{
	assert_rejected(
		"{\"telemetry_enabled\": \"false\", \"results\": {\"test_type\": \"single\"}}",
		"telemetry_enabled");
	assert_rejected("{\"telemetry_enabled\": 0, \"results\": {\"test_type\": \"single\"}}",
			"telemetry_enabled");
}
END_TEST

/* ------------------------------------------------------- rejections */

START_TEST(not_json)
{
	assert_rejected("", "not valid JSON");
	assert_rejected("{", "not valid JSON");
	assert_rejected("nul", "not valid JSON");
	assert_rejected("{'test_type': 'single_user'}", "not valid JSON");
	assert_rejected("{\"test_type\": \"single_user\"} trailing", "not valid JSON");
	assert_rejected("{\"a\": 1,}", "not valid JSON");
	assert_rejected("{\"a\": NaN}", "not valid JSON");
	assert_rejected("{\"a\": Infinity}", "not valid JSON");
	assert_rejected("{\"a\": \"\xff\"}", "not valid JSON");
	assert_rejected("{\"server_name\": \"a\\u0000b\"}", "not valid JSON");
}
END_TEST

START_TEST(nul_byte_in_body)
{
	static const char body[] = "{\"test_type\": \"single_user\"}\0{}";

	ck_assert_int_eq(lqos_result_parse(body, sizeof(body) - 1, &r, why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, "not valid JSON") != NULL, "why: %s", why);
}
END_TEST

START_TEST(deep_nesting)
{
	size_t depth = 100000;
	char *text = malloc(2 * depth + 1);

	ck_assert_ptr_nonnull(text);
	memset(text, '[', depth);
	memset(text + depth, ']', depth);
	text[2 * depth] = '\0';
	assert_rejected(text, "not valid JSON");
	free(text);
}
END_TEST

START_TEST(not_object)
{
	assert_rejected("[]", "must be a JSON object");
	assert_rejected("[{\"test_type\": \"single_user\"}]", "must be a JSON object");
	/* scalars are refused by the JSON reader itself */
	assert_rejected("42", "JSON");
	assert_rejected("\"single_user\"", "JSON");
	assert_rejected("null", "JSON");
	assert_rejected("true", "JSON");
}
END_TEST

START_TEST(duplicate_keys)
{
	assert_rejected("{\"test_type\": \"single_user\", \"test_type\": \"virtual_household\"}",
			"duplicate");
	assert_rejected("{\"test_type\": \"single_user\", \"baseline_latency_ms\": 10,"
			" \"download\": {\"throughput_mbps\": 50, \"latency_increase_ms\": 1,"
			" \"latency_increase_ms\": 500},"
			" \"upload\": {\"throughput_mbps\": 10, \"latency_increase_ms\": 2},"
			" \"bidirectional\": {\"latency_increase_ms\": 3}}",
			"duplicate");
	assert_rejected("{\"results\": {\"test_type\": \"household\", \"test_type\": \"single\"}}",
			"duplicate");
}
END_TEST

#define SINGLE_WITH(field_json)                                                                    \
	"{\"test_type\": \"single_user\", \"baseline_latency_ms\": 10, " field_json ", "           \
	"\"upload\": {\"throughput_mbps\": 10, \"latency_increase_ms\": 2}, "                      \
	"\"bidirectional\": {\"throughput_mbps\": 40, \"latency_increase_ms\": 3}}"

START_TEST(wrong_types)
{
	assert_rejected(SINGLE_WITH("\"download\": {\"throughput_mbps\": \"50\", "
				    "\"latency_increase_ms\": 1}"),
			"'download.throughput_mbps' must be a number");
	assert_rejected(SINGLE_WITH("\"download\": {\"throughput_mbps\": true, "
				    "\"latency_increase_ms\": 1}"),
			"'download.throughput_mbps' must be a number");
	assert_rejected(SINGLE_WITH("\"download\": {\"throughput_mbps\": [50], "
				    "\"latency_increase_ms\": 1}"),
			"'download.throughput_mbps' must be a number");
	assert_rejected(SINGLE_WITH("\"download\": [50, 1]"), "download.throughput_mbps");
	assert_rejected(SINGLE_WITH("\"download\": {\"throughput_mbps\": 50, "
				    "\"latency_increase_ms\": 1}, \"server_name\": 7"),
			"'server_name' must be a string");
	assert_rejected("{\"test_type\": 1}", "test_type");
	assert_rejected("{\"test_type\": [\"single_user\"]}", "test_type");
	assert_rejected("{\"results\": [1]}", "'results' must be an object");
	assert_rejected("{\"results\": \"single\"}", "'results' must be an object");
}
END_TEST

START_TEST(bad_test_type)
{
	assert_rejected("{\"baseline_latency_ms\": 10}", "missing field 'test_type'");
	assert_rejected("{\"test_type\": \"multi_user\"}", "test_type");
	assert_rejected("{\"test_type\": \"Single_User\"}", "test_type");
	assert_rejected("{\"test_type\": \"\"}", "test_type");
	assert_rejected("{\"results\": {}}", "missing field 'results.test_type'");
	assert_rejected("{\"results\": {\"test_type\": \"both\"}}", "results.test_type");
}
END_TEST

START_TEST(out_of_range)
{
	assert_rejected(SINGLE_WITH("\"download\": {\"throughput_mbps\": -1, "
				    "\"latency_increase_ms\": 1}"),
			"'download.throughput_mbps' must be between");
	assert_rejected(SINGLE_WITH("\"download\": {\"throughput_mbps\": 100001, "
				    "\"latency_increase_ms\": 1}"),
			"download.throughput_mbps");
	assert_rejected(SINGLE_WITH("\"download\": {\"throughput_mbps\": 5, "
				    "\"latency_increase_ms\": 60001}"),
			"download.latency_increase_ms");
	assert_rejected(SINGLE_WITH("\"download\": {\"throughput_mbps\": 5, "
				    "\"latency_increase_ms\": 1, \"jitter_ms\": -0.5}"),
			"download.jitter_ms");
	assert_rejected(SINGLE_WITH("\"download\": {\"throughput_mbps\": 5, "
				    "\"latency_increase_ms\": 1}, \"test_duration_seconds\": 3601"),
			"test_duration_seconds");
	assert_rejected("{\"test_type\": \"single_user\", \"baseline_latency_ms\": -3}",
			"baseline_latency_ms");
}
END_TEST

static void alex_loss_101(json_t *root)
{
	json_object_set_new(at(root, "alex", NULL), "loss_pct", json_real(101));
}

static void jake_stalls_negative(json_t *root)
{
	json_object_set_new(at(root, "jake", NULL), "stalls", json_integer(-1));
}

START_TEST(household_out_of_range)
{
	ck_assert_int_eq(parse_edited("native_household.json", alex_loss_101), -1);
	ck_assert_msg(strstr(why, "alex.loss_pct") != NULL, "why: %s", why);
	ck_assert_int_eq(parse_edited("native_household.json", jake_stalls_negative), -1);
	ck_assert_msg(strstr(why, "jake.stalls") != NULL, "why: %s", why);
}
END_TEST

START_TEST(non_finite_numbers)
{
	assert_rejected(SINGLE_WITH("\"download\": {\"throughput_mbps\": 1e400, "
				    "\"latency_increase_ms\": 1}"),
			"JSON");
	assert_rejected(SINGLE_WITH("\"download\": {\"throughput_mbps\": -1e400, "
				    "\"latency_increase_ms\": 1}"),
			"JSON");
	assert_rejected(SINGLE_WITH("\"download\": {\"throughput_mbps\": 5, "
				    "\"latency_increase_ms\": 1e308}"),
			"download.latency_increase_ms");
	/* a huge integer is a number, but out of range */
	assert_rejected(SINGLE_WITH("\"download\": {\"throughput_mbps\": 5, "
				    "\"latency_increase_ms\": 9223372036854775807}"),
			"download.latency_increase_ms");
	assert_rejected(SINGLE_WITH("\"download\": {\"throughput_mbps\": 5, "
				    "\"latency_increase_ms\": 99999999999999999999999}"),
			"JSON");
}
END_TEST

static void drop_download_increase(json_t *root)
{
	json_object_del(at(root, "download", NULL), "latency_increase_ms");
}

static void null_baseline(json_t *root)
{
	json_object_set_new(root, "baseline_latency_ms", json_null());
}

static void drop_bidirectional(json_t *root)
{
	json_object_del(root, "bidirectional");
}

static void bidirectional_without_throughput(json_t *root)
{
	json_object_del(at(root, "bidirectional", NULL), "throughput_mbps");
}

static void null_bidirectional(json_t *root)
{
	json_object_set_new(root, "bidirectional", json_null());
}

static void drop_sarah_jitter(json_t *root)
{
	json_object_del(at(root, "sarah", NULL), "jitter_ms");
}

static void drop_computer(json_t *root)
{
	json_object_del(root, "computer");
}

static void drop_original_bidi(json_t *root)
{
	json_object_del(at(root, "results", "metrics"), "bidirectional_latency_increase_ms");
}

static void drop_original_metrics(json_t *root)
{
	json_object_del(at(root, "results", NULL), "metrics");
}

static void drop_jake_letter(json_t *root)
{
	json_object_del(at(root, "results", "household_metrics"), "jake_performance");
}

static void drop_household_metrics(json_t *root)
{
	json_object_del(at(root, "results", NULL), "household_metrics");
}

START_TEST(missing_required)
{
	ck_assert_int_eq(parse_edited("native_single.json", drop_download_increase), -1);
	ck_assert_str_eq(why, "missing field 'download.latency_increase_ms'");
	ck_assert_int_eq(parse_edited("native_single.json", null_baseline), -1);
	ck_assert_str_eq(why, "missing field 'baseline_latency_ms'");
	ck_assert_int_eq(parse_edited("native_single.json", bidirectional_without_throughput), -1);
	ck_assert_str_eq(why, "missing field 'bidirectional.throughput_mbps'");
	ck_assert_int_eq(parse_edited("native_household.json", drop_sarah_jitter), -1);
	ck_assert_str_eq(why, "missing field 'sarah.jitter_ms'");
	ck_assert_int_eq(parse_edited("native_household.json", drop_computer), -1);
	ck_assert_msg(strstr(why, "computer.") != NULL, "why: %s", why);
	ck_assert_int_eq(parse_edited("original_single.json", drop_original_bidi), -1);
	ck_assert_str_eq(why, "missing field 'results.metrics.bidirectional_latency_increase_ms'");
	ck_assert_int_eq(parse_edited("original_single.json", drop_original_metrics), -1);
	ck_assert_msg(strstr(why, "results.metrics.") != NULL, "why: %s", why);
	ck_assert_int_eq(parse_edited("original_household.json", drop_jake_letter), -1);
	ck_assert_str_eq(why, "missing field 'results.household_metrics.jake_performance'");
	ck_assert_int_eq(parse_edited("original_household.json", drop_household_metrics), -1);
	ck_assert_msg(strstr(why, "household_metrics") != NULL, "why: %s", why);
}
END_TEST

static const char *bad_letter;

static void set_alex_letter(json_t *root)
{
	json_t *v = json_loads(bad_letter, JSON_DECODE_ANY, NULL);

	ck_assert_ptr_nonnull(v);
	json_object_set_new(at(root, "results", "household_metrics"), "alex_performance", v);
}

static void set_overall_letter(json_t *root)
{
	json_t *v = json_loads(bad_letter, JSON_DECODE_ANY, NULL);

	ck_assert_ptr_nonnull(v);
	json_object_set_new(at(root, "results", "grades"), "overall", v);
}

START_TEST(bad_letters)
{
	const char *bad[] = {"\"E\"",
			     "\"a\"",
			     "\"A-\"",
			     "\"A+ \"",
			     "\"\"",
			     "\"F+\"",
			     "5",
			     "true",
			     "[\"A\"]",
			     "{\"cssClass\": \"a\"}",
			     "{\"grade\": \"Z\"}",
			     "{\"grade\": 6}",
			     "{\"grade\": null}"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bad_letter = bad[i];
		ck_assert_msg(parse_edited("original_household.json", set_alex_letter) == -1,
			      "household letter %s accepted", bad[i]);
		ck_assert_msg(strstr(why, "results.household_metrics.alex_performance") != NULL &&
				      strstr(why, "A+, A, B, C, D or F") != NULL,
			      "why: %s", why);
		ck_assert_msg(parse_edited("original_single.json", set_overall_letter) == -1,
			      "client grade %s accepted", bad[i]);
		ck_assert_msg(strstr(why, "results.grades.overall") != NULL, "why: %s", why);
	}
}
END_TEST

START_TEST(server_name_checks)
{
	char text[1024];
	char name[200];

	memset(name, 'n', 128);
	name[128] = '\0';
	snprintf(text, sizeof(text),
		 SINGLE_WITH("\"download\": {\"throughput_mbps\": 5, \"latency_increase_ms\": 1},"
			     " \"server_name\": \"%s\""),
		 name);
	ck_assert_int_eq(parse_text(text), 0);
	ck_assert_uint_eq(strlen(r.server_name), 128);
	name[128] = 'n';
	name[129] = '\0';
	snprintf(text, sizeof(text),
		 SINGLE_WITH("\"download\": {\"throughput_mbps\": 5, \"latency_increase_ms\": 1},"
			     " \"server_name\": \"%s\""),
		 name);
	assert_rejected(text, "'server_name' is longer than 128");
	assert_rejected(SINGLE_WITH("\"download\": {\"throughput_mbps\": 5, "
				    "\"latency_increase_ms\": 1}, \"server_name\": \"a\\nb\""),
			"'server_name' contains control characters");
	assert_rejected(SINGLE_WITH("\"download\": {\"throughput_mbps\": 5, "
				    "\"latency_increase_ms\": 1}, \"server_name\": \"a\\u007fb\""),
			"control characters");
}
END_TEST

START_TEST(unknown_fields_ignored)
{
	ck_assert_int_eq(
		parse_text(SINGLE_WITH("\"download\": {\"throughput_mbps\": 5, "
				       "\"latency_increase_ms\": 1, \"samples\": [1, 2, 3]},"
				       " \"client_ip\": \"6.6.6.6\", \"grades\": "
				       "{\"overall\": \"A+\"}, \"extra\": {\"x\": null}")),
		0);
}
END_TEST

/* ---------------------------------------------------------- grading */

static json_t *grades(void)
{
	lqos_result_grade(&r);
	return lqos_result_grades_json(&r);
}

static void assert_grade_str(json_t *g, const char *key, const char *want)
{
	json_t *v = json_object_get(g, key);

	ck_assert_msg(json_is_string(v), "grades.%s is not a string", key);
	ck_assert_msg(strcmp(json_string_value(v), want) == 0, "grades.%s = %s, want %s", key,
		      json_string_value(v), want);
}

START_TEST(grade_native_single)
{
	json_t *g;

	ck_assert_int_eq(parse_fixture("native_single.json"), 0);
	g = grades();
	/* 45.2 ms -> B, 78.9 -> C, 67.1 -> C; mean 3.33 -> C; score 47 */
	ck_assert_int_eq(r.phase_grade[LQOS_PHASE_DOWNLOAD], G(B));
	ck_assert_int_eq(r.phase_grade[LQOS_PHASE_UPLOAD], G(C));
	ck_assert_int_eq(r.phase_grade[LQOS_PHASE_BIDIRECTIONAL], G(C));
	ck_assert_int_eq(r.overall_grade, G(C));
	ck_assert_int_eq(r.single_user_score, 47);
	ck_assert_int_eq(r.household_score, -1);
	assert_grade_str(g, "overall", "C");
	assert_grade_str(g, "download", "B");
	assert_grade_str(g, "upload", "C");
	assert_grade_str(g, "bidirectional", "C");
	ck_assert_int_eq(json_integer_value(json_object_get(g, "single_user_score")), 47);
	ck_assert_ptr_null(json_object_get(g, "household_score"));
	json_decref(g);
}
END_TEST

START_TEST(grade_original_single_ignores_client_letters)
{
	json_t *g;

	/* the client claims B overall and A+/A/B/F after the edit */
	ck_assert_int_eq(parse_edited("original_single.json", grades_as_letters), 0);
	g = grades();
	assert_grade_str(g, "overall", "C");
	assert_grade_str(g, "download", "B");
	assert_grade_str(g, "bidirectional", "C");
	ck_assert_int_eq(json_integer_value(json_object_get(g, "single_user_score")), 47);
	json_decref(g);
}
END_TEST

START_TEST(grade_native_household)
{
	json_t *g;

	ck_assert_int_eq(parse_fixture("native_household.json"), 0);
	g = grades();
	/* A+, A, A, C: mean 4.75 (A), but at most one letter better than
	 * the worst (C) -> B; the score, the mean's 75, is capped at B's 60 */
	assert_grade_str(g, "alex", "A+");
	assert_grade_str(g, "sarah", "A");
	assert_grade_str(g, "jake", "A");
	assert_grade_str(g, "computer", "C");
	assert_grade_str(g, "overall", "B");
	ck_assert_int_eq(json_integer_value(json_object_get(g, "household_score")), 60);
	ck_assert_int_eq(r.single_user_score, -1);
	ck_assert_ptr_null(json_object_get(g, "single_user_score"));
	json_decref(g);
}
END_TEST

START_TEST(grade_original_household_uses_letters)
{
	json_t *g;

	ck_assert_int_eq(parse_fixture("original_household.json"), 0);
	g = grades();
	/* A, B, A+, C: mean 4.5 (A, half up), capped one letter above the
	 * worst (C) -> B; score 70 capped at B's 60 */
	assert_grade_str(g, "alex", "A");
	assert_grade_str(g, "sarah", "B");
	assert_grade_str(g, "jake", "A+");
	assert_grade_str(g, "computer", "C");
	assert_grade_str(g, "overall", "B");
	ck_assert_int_eq(json_integer_value(json_object_get(g, "household_score")), 60);
	json_decref(g);
}
END_TEST

/* The bidirectional phase may be left out (a shortened test): it is
 * then not graded and the overall grade combines the other two. */
START_TEST(grade_without_bidirectional)
{
	json_t *g;
	void (*edits[2])(json_t *) = {drop_bidirectional, null_bidirectional};

	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(parse_edited("native_single.json", edits[i]), 0);
		g = grades();
		ck_assert(isnan(r.phase[LQOS_PHASE_BIDIRECTIONAL].latency_increase_ms));
		ck_assert(json_is_null(json_object_get(g, "bidirectional")));
		/* B and C: mean 3.5 -> B (half up); score 50 */
		assert_grade_str(g, "overall", "B");
		ck_assert_int_eq(json_integer_value(json_object_get(g, "single_user_score")), 50);
		json_decref(g);
	}
}
END_TEST

START_TEST(grade_negative_increase_is_zero)
{
	json_t *g;

	ck_assert_int_eq(parse_text(SINGLE_WITH("\"download\": {\"throughput_mbps\": 5, "
						"\"latency_increase_ms\": -4.5}")),
			 0);
	g = grades();
	ck_assert_double_eq(r.phase[LQOS_PHASE_DOWNLOAD].latency_increase_ms, 0);
	assert_grade_str(g, "download", "A+");
	assert_grade_str(g, "upload", "A+");
	assert_grade_str(g, "overall", "A+");
	ck_assert_int_eq(json_integer_value(json_object_get(g, "single_user_score")), 100);
	json_decref(g);
}
END_TEST

START_TEST(grade_worst_case)
{
	json_t *g;

	ck_assert_int_eq(
		parse_text("{\"test_type\": \"single_user\", \"baseline_latency_ms\": 10,"
			   " \"download\": {\"throughput_mbps\": 5, \"latency_increase_ms\": 400},"
			   " \"upload\": {\"throughput_mbps\": 1, \"latency_increase_ms\": 2500},"
			   " \"bidirectional\": {\"throughput_mbps\": 4, \"latency_increase_ms\": "
			   "60000}}"),
		0);
	g = grades();
	assert_grade_str(g, "overall", "F");
	ck_assert_int_eq(json_integer_value(json_object_get(g, "single_user_score")), 0);
	json_decref(g);
}
END_TEST

START_TEST(details_json)
{
	json_t *d;

	ck_assert_int_eq(parse_fixture("native_single.json"), 0);
	lqos_result_grade(&r);
	d = lqos_result_details_json(&r);
	ck_assert_str_eq(json_string_value(json_object_get(d, "format")), "native");
	ck_assert_str_eq(json_string_value(json_object_get(d, "test_type")), "single_user");
	ck_assert_double_eq(json_real_value(at(d, "download", "throughput_mbps")), 115.6);
	ck_assert_str_eq(json_string_value(at(d, "upload", "grade")), "C");
	json_decref(d);

	ck_assert_int_eq(parse_fixture("original_household.json"), 0);
	lqos_result_grade(&r);
	d = lqos_result_details_json(&r);
	ck_assert_str_eq(json_string_value(json_object_get(d, "format")), "original");
	ck_assert_str_eq(json_string_value(json_object_get(d, "test_type")), "virtual_household");
	ck_assert(json_is_null(json_object_get(d, "test_duration_seconds")));
	json_decref(d);
	ck_assert_str_eq(lqos_test_type_name(LQOS_TEST_SINGLE_USER), "single_user");
	ck_assert_str_eq(lqos_test_type_name(LQOS_TEST_HOUSEHOLD), "virtual_household");
}
END_TEST

static void add_protocol(json_t *root)
{
	json_object_set_new(root, "protocol", json_pack("{s:s, s:s}", "probe", "h2", "load", "h2"));
}

static void add_bad_protocol(json_t *root)
{
	json_object_set_new(root, "protocol",
			    json_pack("{s:s, s:s}", "probe", "h2", "load", "spdy/3"));
}

static void add_protocol_string(json_t *root)
{
	json_object_set_new(root, "protocol", json_string("h2"));
}

static void add_long_protocol(json_t *root)
{
	json_object_set_new(root, "protocol",
			    json_pack("{s:s}", "probe", "http/1.1-but-much-too-long"));
}

/* The protocol the page used is kept in the details; only listed tokens
 * are accepted. Responsiveness (RPM) is derived from each phase's p50. */
START_TEST(protocol_and_rpm_in_details)
{
	json_t *d;
	double p50;

	ck_assert_int_eq(parse_edited("native_single.json", add_protocol), 0);
	lqos_result_grade(&r);
	d = lqos_result_details_json(&r);
	ck_assert_str_eq(json_string_value(at(d, "protocol", "probe")), "h2");
	ck_assert_str_eq(json_string_value(at(d, "protocol", "load")), "h2");
	p50 = r.phase[LQOS_PHASE_DOWNLOAD].latency_p50_ms;
	ck_assert(isfinite(p50) && p50 > 0);
	ck_assert_int_eq(json_integer_value(at(d, "download", "responsiveness_rpm")),
			 lround(60000.0 / p50));
	json_decref(d);

	/* Without it, no protocol in the details. */
	ck_assert_int_eq(parse_fixture("native_single.json"), 0);
	d = lqos_result_details_json(&r);
	ck_assert_ptr_null(json_object_get(d, "protocol"));
	json_decref(d);

	ck_assert_int_eq(parse_edited("native_single.json", add_bad_protocol), -1);
	ck_assert_ptr_nonnull(strstr(why, "protocol.load"));
	ck_assert_int_eq(parse_edited("native_single.json", add_protocol_string), -1);
	ck_assert_ptr_nonnull(strstr(why, "'protocol' must be an object"));
	ck_assert_int_eq(parse_edited("native_single.json", add_long_protocol), -1);
	ck_assert_ptr_nonnull(strstr(why, "protocol.probe"));
	ck_assert_int_eq(parse_edited("native_household.json", add_protocol), 0);
}
END_TEST

static Suite *result_suite(void)
{
	Suite *s = suite_create("result");
	TCase *tc = tcase_create("formats");

	tcase_add_test(tc, native_single_user);
	tcase_add_test(tc, native_single_user_minimal);
	tcase_add_test(tc, native_household);
	tcase_add_test(tc, original_single);
	tcase_add_test(tc, original_single_variants);
	tcase_add_test(tc, original_household);
	tcase_add_test(tc, original_household_variants);
	tcase_add_test(tc, unknown_fields_ignored);
	suite_add_tcase(s, tc);

	tc = tcase_create("rejections");
	tcase_add_test(tc, telemetry_enabled_must_be_bool);
	tcase_add_test(tc, not_json);
	tcase_add_test(tc, nul_byte_in_body);
	tcase_add_test(tc, deep_nesting);
	tcase_add_test(tc, not_object);
	tcase_add_test(tc, duplicate_keys);
	tcase_add_test(tc, wrong_types);
	tcase_add_test(tc, bad_test_type);
	tcase_add_test(tc, out_of_range);
	tcase_add_test(tc, household_out_of_range);
	tcase_add_test(tc, non_finite_numbers);
	tcase_add_test(tc, missing_required);
	tcase_add_test(tc, bad_letters);
	tcase_add_test(tc, server_name_checks);
	suite_add_tcase(s, tc);

	tc = tcase_create("grading");
	tcase_add_test(tc, grade_native_single);
	tcase_add_test(tc, grade_original_single_ignores_client_letters);
	tcase_add_test(tc, grade_native_household);
	tcase_add_test(tc, grade_original_household_uses_letters);
	tcase_add_test(tc, grade_without_bidirectional);
	tcase_add_test(tc, grade_negative_increase_is_zero);
	tcase_add_test(tc, grade_worst_case);
	tcase_add_test(tc, details_json);
	tcase_add_test(tc, protocol_and_rpm_in_details);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return lqos_test_run(result_suite());
}
