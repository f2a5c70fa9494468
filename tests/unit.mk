# Check unit suites: tests/check_<module>.c, one binary per TESTS entry.
UNIT_TESTS = \
	tests/check_load \
	tests/check_grade \
	tests/check_config \
	tests/check_ipaddr \
	tests/check_auth \
	tests/check_http \
	tests/check_result \
	tests/check_store
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
EXTRA_DIST += tests/testutil.h

tests_check_grade_SOURCES = tests/check_grade.c
tests_check_grade_CFLAGS = $(TEST_CFLAGS)
tests_check_grade_LDADD = $(TEST_LIBS)

tests_check_load_SOURCES = tests/check_load.c
tests_check_load_CFLAGS = $(TEST_CFLAGS)
tests_check_load_LDADD = $(TEST_LIBS)

# libcommon module suites (fixtures in tests/fixtures, found via LQOS_SRCDIR)
EXTRA_DIST += tests/testfs.h tests/fixtures/guide.conf tests/fixtures/guide_schema.sql \
	tests/fixtures/native_single.json tests/fixtures/native_household.json \
	tests/fixtures/original_single.json tests/fixtures/original_household.json
tests_check_config_SOURCES = tests/check_config.c
tests_check_config_CFLAGS = $(TEST_CFLAGS)
tests_check_config_LDADD = $(TEST_LIBS)
tests_check_ipaddr_SOURCES = tests/check_ipaddr.c
tests_check_ipaddr_CFLAGS = $(TEST_CFLAGS)
tests_check_ipaddr_LDADD = $(TEST_LIBS)
tests_check_auth_SOURCES = tests/check_auth.c
tests_check_auth_CFLAGS = $(TEST_CFLAGS)
tests_check_auth_LDADD = $(TEST_LIBS)
tests_check_http_SOURCES = tests/check_http.c
tests_check_http_CFLAGS = $(TEST_CFLAGS)
tests_check_http_LDADD = $(TEST_LIBS)
tests_check_result_SOURCES = tests/check_result.c
tests_check_result_CFLAGS = $(TEST_CFLAGS)
tests_check_result_LDADD = $(TEST_LIBS)
tests_check_store_SOURCES = tests/check_store.c
tests_check_store_CFLAGS = $(TEST_CFLAGS)
tests_check_store_LDADD = $(TEST_LIBS)

# Webhooks: payloads, signatures, backoff, outbox (issue 3)
check_PROGRAMS += tests/check_webhook
TESTS += tests/check_webhook
tests_check_webhook_SOURCES = tests/check_webhook.c
tests_check_webhook_CFLAGS = $(TEST_CFLAGS)
tests_check_webhook_LDADD = $(TEST_LIBS)
TESTS += tests/format_check.sh
# configure.ac's libcurl minimum covers every libcurl option used
TESTS += tests/curl_minimum.py
EXTRA_DIST += tests/curl_minimum.py
EXTRA_DIST += tests/format_check.sh .clang-format
