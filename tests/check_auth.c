/* Support API authentication: the guide's three ways to send the key,
 * wrong and missing keys, and loopback-only access without a key. */
#include <string.h>

#include "libcommon/auth.h"
#include "testutil.h"

#define KEY "your-secure-api-key-here"

static struct lqos_config cfg;
static struct lqos_request req;

static void setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	memset(&req, 0, sizeof(req));
	cfg.telemetry_api_key = (char *)KEY;
	cfg.allow_query_api_key = true;
	req.method = "GET";
}

static enum lqos_auth_result check(const char *client)
{
	return lqos_auth_check(&cfg, &req, client);
}

#define ck_auth(expr, want) ck_assert_int_eq((expr), (want))

START_TEST(bearer_header)
{
	req.authorization = "Bearer " KEY;
	ck_auth(check("203.0.113.5"), LQOS_AUTH_OK);
	req.authorization = "bearer " KEY;
	ck_auth(check("203.0.113.5"), LQOS_AUTH_OK);
	req.authorization = "BEARER " KEY;
	ck_auth(check("203.0.113.5"), LQOS_AUTH_OK);
	req.authorization = "Bearer   " KEY "  ";
	ck_auth(check("203.0.113.5"), LQOS_AUTH_OK);
}
END_TEST

START_TEST(x_api_key_header)
{
	req.x_api_key = KEY;
	ck_auth(check("203.0.113.5"), LQOS_AUTH_OK);
	ck_auth(check("2001:db8::5"), LQOS_AUTH_OK);
}
END_TEST

START_TEST(query_parameter)
{
	req.query = "limit=50&api_key=" KEY;
	ck_auth(check("203.0.113.5"), LQOS_AUTH_OK);
	req.query = "api_key=" KEY "&limit=50";
	ck_auth(check("203.0.113.5"), LQOS_AUTH_OK);
	/* URL encoding is decoded before comparing */
	cfg.telemetry_api_key = (char *)"k+y/with space&amp";
	req.query = "api_key=k%2By%2Fwith+space%26amp";
	ck_auth(check("203.0.113.5"), LQOS_AUTH_OK);
}
END_TEST

START_TEST(wrong_key_each_carrier)
{
	req.authorization = "Bearer not-the-key";
	ck_auth(check("203.0.113.5"), LQOS_AUTH_WRONG);
	memset(&req, 0, sizeof(req));
	req.x_api_key = "not-the-key";
	ck_auth(check("203.0.113.5"), LQOS_AUTH_WRONG);
	memset(&req, 0, sizeof(req));
	req.query = "api_key=not-the-key";
	ck_auth(check("203.0.113.5"), LQOS_AUTH_WRONG);
	/* loopback does not excuse a wrong key once a key is configured */
	ck_auth(check("127.0.0.1"), LQOS_AUTH_WRONG);
}
END_TEST

START_TEST(near_misses_are_wrong)
{
	const char *near[] = {
		"your-secure-api-key-herf", /* last byte differs */
		"Your-secure-api-key-here", /* first byte differs */
		"your-secure-api-key-her", /* prefix */
		"your-secure-api-key-here!", /* longer */
		"YOUR-SECURE-API-KEY-HERE",  "your-secure-api-key-here\t",
	};

	for (size_t i = 0; i < sizeof(near) / sizeof(near[0]); i++) {
		memset(&req, 0, sizeof(req));
		req.x_api_key = near[i];
		ck_assert_msg(check("203.0.113.5") == LQOS_AUTH_WRONG, "'%s' accepted", near[i]);
	}
	memset(&req, 0, sizeof(req));
	req.query = "api_key=your-secure-api-key-her%00e";
	ck_auth(check("203.0.113.5"), LQOS_AUTH_WRONG);
	req.query = "api_key=%zz";
	ck_auth(check("203.0.113.5"), LQOS_AUTH_WRONG);
}
END_TEST

START_TEST(missing_key)
{
	ck_auth(check("203.0.113.5"), LQOS_AUTH_MISSING);
	ck_auth(check("127.0.0.1"), LQOS_AUTH_MISSING);
	req.query = "limit=5&apikey=" KEY; /* not the parameter's name */
	ck_auth(check("203.0.113.5"), LQOS_AUTH_MISSING);
	req.query = NULL;
	req.authorization = "Basic dXNlcjpwYXNz"; /* not a bearer token */
	ck_auth(check("203.0.113.5"), LQOS_AUTH_MISSING);
	req.authorization = "Bearer ";
	ck_auth(check("203.0.113.5"), LQOS_AUTH_MISSING);
	req.authorization = "Bearer" KEY; /* no space: not the scheme */
	ck_auth(check("203.0.113.5"), LQOS_AUTH_MISSING);
	req.authorization = NULL;
	req.x_api_key = "";
	ck_auth(check("203.0.113.5"), LQOS_AUTH_MISSING);
}
END_TEST

START_TEST(any_right_carrier_wins)
{
	req.authorization = "Bearer wrong";
	req.x_api_key = KEY;
	ck_auth(check("203.0.113.5"), LQOS_AUTH_OK);
	req.x_api_key = "also-wrong";
	req.query = "api_key=" KEY;
	ck_auth(check("203.0.113.5"), LQOS_AUTH_OK);
}
END_TEST

START_TEST(query_key_can_be_disabled)
{
	cfg.allow_query_api_key = false;
	req.query = "api_key=" KEY;
	ck_auth(check("203.0.113.5"), LQOS_AUTH_MISSING);
	ck_auth(check("127.0.0.1"), LQOS_AUTH_MISSING);
	req.x_api_key = KEY;
	ck_auth(check("203.0.113.5"), LQOS_AUTH_OK);
}
END_TEST

START_TEST(no_key_means_loopback_only)
{
	const char *local[] = {"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"};
	const char *remote[] = {"10.0.0.1", "192.168.1.100", "2001:db8::1", "::", ""};

	cfg.telemetry_api_key = NULL;
	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
		ck_assert_msg(check(local[i]) == LQOS_AUTH_OK, "%s refused", local[i]);
	for (size_t i = 0; i < sizeof(remote) / sizeof(remote[0]); i++)
		ck_assert_msg(check(remote[i]) == LQOS_AUTH_NOT_LOOPBACK, "'%s' let in", remote[i]);
	/* sending some key does not help when none is configured */
	req.authorization = "Bearer anything";
	req.x_api_key = "anything";
	req.query = "api_key=anything";
	ck_auth(check("203.0.113.5"), LQOS_AUTH_NOT_LOOPBACK);
	ck_auth(check("127.0.0.1"), LQOS_AUTH_OK);
	/* an empty configured key is no key */
	cfg.telemetry_api_key = (char *)"";
	ck_auth(check("203.0.113.5"), LQOS_AUTH_NOT_LOOPBACK);
	ck_auth(check("::1"), LQOS_AUTH_OK);
}
END_TEST

START_TEST(messages_name_the_three_ways)
{
	enum lqos_auth_result rs[] = {LQOS_AUTH_MISSING, LQOS_AUTH_WRONG, LQOS_AUTH_NOT_LOOPBACK};

	for (size_t i = 0; i < sizeof(rs) / sizeof(rs[0]); i++) {
		const char *m = lqos_auth_message(rs[i]);
		ck_assert_ptr_nonnull(m);
		ck_assert_msg(strstr(m, "Authorization: Bearer") != NULL, "%s", m);
		ck_assert_msg(strstr(m, "X-API-Key") != NULL, "%s", m);
		ck_assert_msg(strstr(m, "api_key=") != NULL, "%s", m);
		ck_assert_msg(strstr(m, KEY) == NULL, "%s", m);
	}
	ck_assert_ptr_nonnull(
		strstr(lqos_auth_message(LQOS_AUTH_NOT_LOOPBACK), "telemetry_api_key"));
	ck_assert_ptr_nonnull(strstr(lqos_auth_message(LQOS_AUTH_NOT_LOOPBACK), "localhost"));
}
END_TEST

static Suite *auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("api_key");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, bearer_header);
	tcase_add_test(tc, x_api_key_header);
	tcase_add_test(tc, query_parameter);
	tcase_add_test(tc, wrong_key_each_carrier);
	tcase_add_test(tc, near_misses_are_wrong);
	tcase_add_test(tc, missing_key);
	tcase_add_test(tc, any_right_carrier_wins);
	tcase_add_test(tc, query_key_can_be_disabled);
	tcase_add_test(tc, no_key_means_loopback_only);
	tcase_add_test(tc, messages_name_the_three_ways);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return lqos_test_run(auth_suite());
}
