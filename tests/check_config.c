/* Configuration: zero config, the guide's shell-style file, keys of
 * other LibreQoS tools, every kind of bad value (with file:line), and
 * the LIBREQOS_* environment fallbacks. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "libcommon/config.h"
#include "testfs.h"
#include "testutil.h"

static char dir[LQOS_TEST_DIRLEN];
static struct lqos_config cfg;

static void setup(void)
{
	lqos_test_mkdtemp(dir);
	memset(&cfg, 0, sizeof(cfg));
	unsetenv("LQOS_TEST_CONF");
	unsetenv("REDIRECT_LQOS_TEST_CONF");
	unsetenv("LIBREQOS_WEBHOOK_URL");
	unsetenv("LIBREQOS_WEBHOOK_SECRET");
	unsetenv("LIBREQOS_TELEMETRY_API_KEY");
}

static void teardown(void)
{
	lqos_config_free(&cfg);
	lqos_test_rmtree(dir);
}

/* Write `text` to a fresh file and load it. */
static int load_text(const char *text)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", lqos_test_write(dir, "lqos_test.conf", text));
	lqos_config_free(&cfg);
	return lqos_config_load(&cfg, path);
}

/* Assert a load failed with "<file>:<line>: ..." naming `needle`. */
static void assert_error_at(int line, const char *needle)
{
	char prefix[PATH_MAX + 32];

	snprintf(prefix, sizeof(prefix), "%s/lqos_test.conf:%d: ", dir, line);
	ck_assert_msg(strncmp(cfg.error, prefix, strlen(prefix)) == 0,
		      "error '%s' does not start with '%s'", cfg.error, prefix);
	ck_assert_msg(strstr(cfg.error, needle) != NULL, "error '%s' does not mention '%s'",
		      cfg.error, needle);
}

static void assert_defaults(void)
{
	ck_assert_str_eq(cfg.database_path, "/opt/libreqos_data/isp_telemetry.db");
	ck_assert_int_eq(cfg.max_stored_tests, 1000);
	ck_assert_int_eq(cfg.max_tests_per_ip_per_hour, 60);
	ck_assert(cfg.allow_query_api_key);
	ck_assert_uint_eq(cfg.n_trusted_proxies, 0);
	ck_assert_ptr_null(cfg.sponsor_name);
	ck_assert_ptr_null(cfg.sponsor_url);
	ck_assert_ptr_null(cfg.sponsor_city);
	ck_assert_ptr_null(cfg.webhook_url);
	ck_assert_ptr_null(cfg.webhook_secret);
	ck_assert_ptr_null(cfg.telemetry_api_key);
	ck_assert_ptr_null(cfg.central_telemetry_url);
	ck_assert(!lqos_config_webhook_enabled(&cfg));
}

START_TEST(missing_file_is_all_defaults)
{
	char path[PATH_MAX], host[256] = "";

	snprintf(path, sizeof(path), "%s/no-such.conf", dir);
	ck_assert_int_eq(lqos_config_load(&cfg, path), 0);
	ck_assert_str_eq(cfg.error, "");
	ck_assert_str_eq(cfg.path, path);
	assert_defaults();
	/* server_name defaults to the host name */
	ck_assert_int_eq(gethostname(host, sizeof(host) - 1), 0);
	ck_assert_ptr_nonnull(cfg.server_name);
	ck_assert_str_eq(cfg.server_name, host);
}
END_TEST

START_TEST(missing_directory_is_all_defaults)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/no/such/dir/lqos_test.conf", dir);
	ck_assert_int_eq(lqos_config_load(&cfg, path), 0);
	assert_defaults();
}
END_TEST

START_TEST(empty_file_is_all_defaults)
{
	ck_assert_int_eq(load_text(""), 0);
	assert_defaults();
	ck_assert_int_eq(load_text("# only a comment\n\n   \n"), 0);
	assert_defaults();
}
END_TEST

/* The exact snippet the guide tells operators to add. */
START_TEST(guide_example_file)
{
	char *text = lqos_test_fixture("guide.conf", NULL);

	ck_assert_int_eq(load_text(text), 0);
	free(text);
	ck_assert_str_eq(cfg.error, "");
	ck_assert_str_eq(cfg.sponsor_name, "Your ISP Name");
	ck_assert_str_eq(cfg.sponsor_url, "https://your-isp.com");
	ck_assert_str_eq(cfg.sponsor_city, "Your City");
	ck_assert_str_eq(cfg.webhook_url, "https://your-portal.example.com/api/speedtest-results");
	ck_assert_str_eq(cfg.webhook_secret, "your-shared-secret-key");
	ck_assert_str_eq(cfg.telemetry_api_key, "your-secure-api-key-here");
	ck_assert(lqos_config_webhook_enabled(&cfg));
	/* keys it does not set keep their defaults */
	ck_assert_int_eq(cfg.max_stored_tests, 1000);
	ck_assert_str_eq(cfg.database_path, "/opt/libreqos_data/isp_telemetry.db");
}
END_TEST

START_TEST(shell_style_quoting)
{
	ck_assert_int_eq(load_text("sponsor_name=\"Double Quoted ISP\"\n"
				   "sponsor_city='Single Quoted City'\n"
				   "sponsor_url=https://unquoted.example.com/path\n"
				   "server_name = \"spaces around equals\"\n"
				   "webhook_secret=\"has # hash and 'quotes' and $dollar\"\n"
				   "telemetry_api_key=\"say \\\"hi\\\"\"\n"),
			 0);
	ck_assert_str_eq(cfg.sponsor_name, "Double Quoted ISP");
	ck_assert_str_eq(cfg.sponsor_city, "Single Quoted City");
	ck_assert_str_eq(cfg.sponsor_url, "https://unquoted.example.com/path");
	ck_assert_str_eq(cfg.server_name, "spaces around equals");
	ck_assert_str_eq(cfg.webhook_secret, "has # hash and 'quotes' and $dollar");
	ck_assert_str_eq(cfg.telemetry_api_key, "say \"hi\"");
}
END_TEST

START_TEST(numbers_and_bools_may_be_quoted)
{
	ck_assert_int_eq(load_text("max_stored_tests=\"250\"\n"
				   "max_tests_per_ip_per_hour='0'\n"
				   "allow_query_api_key=\"false\"\n"),
			 0);
	ck_assert_int_eq(cfg.max_stored_tests, 250);
	ck_assert_int_eq(cfg.max_tests_per_ip_per_hour, 0);
	ck_assert(!cfg.allow_query_api_key);
	ck_assert_int_eq(load_text("allow_query_api_key=no\n"), 0);
	ck_assert(!cfg.allow_query_api_key);
	ck_assert_int_eq(load_text("allow_query_api_key=yes\n"), 0);
	ck_assert(cfg.allow_query_api_key);
}
END_TEST

START_TEST(comments_and_blank_lines)
{
	ck_assert_int_eq(load_text("# Existing ISP configuration\n"
				   "\n"
				   "   # indented comment\n"
				   "sponsor_name=\"Commented ISP\"   # trailing comment\n"
				   "sponsor_city=\"Town\"# no space before the hash\n"
				   "#sponsor_url=\"https://commented-out.example\"\n"
				   "max_stored_tests=42 # forty-two\n"),
			 0);
	ck_assert_str_eq(cfg.sponsor_name, "Commented ISP");
	ck_assert_str_eq(cfg.sponsor_city, "Town");
	ck_assert_ptr_null(cfg.sponsor_url);
	ck_assert_int_eq(cfg.max_stored_tests, 42);
}
END_TEST

START_TEST(crlf_line_endings)
{
	ck_assert_int_eq(load_text("sponsor_name=\"Windows ISP\"\r\nmax_stored_tests=7\r\n"), 0);
	ck_assert_str_eq(cfg.sponsor_name, "Windows ISP");
	ck_assert_int_eq(cfg.max_stored_tests, 7);
}
END_TEST

/* The file is shared with other LibreQoS tools: their keys, whatever the
 * value, must not break ours. */
START_TEST(unknown_keys_are_ignored)
{
	ck_assert_int_eq(load_text("lqos_directory=\"/opt/libreqos/src\"\n"
				   "FOO=1\n"
				   "enable_something=true\n"
				   "some_ratio=0.75\n"
				   "some-dashed-key=\"x\"\n"
				   "queue_list = {\"eth0\", \"eth1\"}\n"
				   "numbers = {1, 2, 3}\n"
				   "sponsor_name=\"Still Read\"\n"
				   "unquoted_url=https://other.example/x?y=1\n"
				   "max_stored_tests=10\n"),
			 0);
	ck_assert_str_eq(cfg.error, "");
	ck_assert_str_eq(cfg.sponsor_name, "Still Read");
	ck_assert_int_eq(cfg.max_stored_tests, 10);
}
END_TEST

/* The upstream project's README writes values unquoted: shell and the
 * original implementation read such a value to the end of the line. */
START_TEST(unquoted_values_to_end_of_line)
{
	ck_assert_int_eq(
		load_text("sponsor_name=Your ISP Name\n"
			  "sponsor_url=https://www.yourisp.com\n"
			  "sponsor_city=Your City   # comment after spaces\n"
			  "webhook_url=https://portal.example.com/hook?token=a=b&c=$HOME#frag\n"
			  "webhook_secret=back\\slash \"quoted\"\n"
			  "telemetry_api_key=\n"),
		0);
	ck_assert_str_eq(cfg.sponsor_name, "Your ISP Name");
	ck_assert_str_eq(cfg.sponsor_url, "https://www.yourisp.com");
	ck_assert_str_eq(cfg.sponsor_city, "Your City");
	ck_assert_str_eq(cfg.webhook_url, "https://portal.example.com/hook?token=a=b&c=$HOME#frag");
	ck_assert_str_eq(cfg.webhook_secret, "back\\slash \"quoted\"");
	ck_assert_ptr_null(cfg.telemetry_api_key);
}
END_TEST

/* Other tools' keys in whatever syntax they use, including values that
 * libconfuse itself cannot read. */
START_TEST(foreign_syntax_is_ignored)
{
	ck_assert_int_eq(load_text("[lqos]\n"
				   "interfaces=(eth0 eth1)\n"
				   "queues=(\n"
				   "  \"a b\"  # first\n"
				   "  c\n"
				   ")\n"
				   "toml_list = [1, 2,\n"
				   "   3]\n"
				   "targets = {\n"
				   "    \"Life\", # comment inside a list\n"
				   "    \"Universe\"\n"
				   "}\n"
				   "description=Joe's ISP\n"
				   "export PATH=/usr/bin:$PATH\n"
				   "flag\n"
				   "= stray\n"
				   "sponsor_name=\"After The Noise\"\n"
				   "max_stored_tests=lots\n"),
			 -1);
	/* ...and the line numbers stay right after multi-line values */
	assert_error_at(18, "max_stored_tests");
	ck_assert_int_eq(load_text("arr=(never closed\n"
				   "export sponsor_city=\"Exported\"\n"
				   "sponsor_name=\"Kept\"\n"),
			 0);
	ck_assert_str_eq(cfg.sponsor_name, "Kept");
	ck_assert_str_eq(cfg.sponsor_city, "Exported");
}
END_TEST

START_TEST(every_project_key)
{
	ck_assert_int_eq(load_text("database_path=\"/var/lib/lqos/t.db\"\n"
				   "max_stored_tests=5000\n"
				   "max_tests_per_ip_per_hour=12\n"
				   "allow_query_api_key=false\n"
				   "server_name=\"speedtest-1\"\n"
				   "trusted_proxies=\"127.0.0.1, 10.0.0.0/8 2001:db8::/32\"\n"
				   "central_telemetry_url=\"https://central.example.org/in\"\n"
				   "webhook_connect_timeout=3\n"
				   "webhook_timeout=20\n"
				   "webhook_max_age_hours=24\n"
				   "outbox_max_events=500\n"
				   "webhook_prompt_delivery=false\n"),
			 0);
	ck_assert_str_eq(cfg.database_path, "/var/lib/lqos/t.db");
	ck_assert_int_eq(cfg.max_stored_tests, 5000);
	ck_assert_int_eq(cfg.max_tests_per_ip_per_hour, 12);
	ck_assert(!cfg.allow_query_api_key);
	ck_assert_str_eq(cfg.server_name, "speedtest-1");
	ck_assert_uint_eq(cfg.n_trusted_proxies, 3);
	ck_assert(lqos_cidr_contains(&cfg.trusted_proxies[0], "127.0.0.1"));
	ck_assert(!lqos_cidr_contains(&cfg.trusted_proxies[0], "127.0.0.2"));
	ck_assert(lqos_cidr_contains(&cfg.trusted_proxies[1], "10.9.8.7"));
	ck_assert(lqos_cidr_contains(&cfg.trusted_proxies[2], "2001:db8:ffff::1"));
	ck_assert_str_eq(cfg.central_telemetry_url, "https://central.example.org/in");
	ck_assert_int_eq(cfg.webhook_connect_timeout, 3);
	ck_assert_int_eq(cfg.webhook_timeout, 20);
	ck_assert_int_eq(cfg.webhook_max_age_hours, 24);
	ck_assert_int_eq(cfg.outbox_max_events, 500);
	ck_assert(!cfg.prompt_delivery);
}
END_TEST

START_TEST(empty_values_mean_unset)
{
	ck_assert_int_eq(load_text("sponsor_name=\"\"\ndatabase_path=\"\"\nwebhook_url=\"\"\n"), 0);
	ck_assert_ptr_null(cfg.sponsor_name);
	ck_assert_str_eq(cfg.database_path, "/opt/libreqos_data/isp_telemetry.db");
	ck_assert(!lqos_config_webhook_enabled(&cfg));
}
END_TEST

START_TEST(bad_integer_names_file_and_line)
{
	ck_assert_int_eq(load_text("# header\nsponsor_name=\"x\"\nmax_stored_tests=lots\n"), -1);
	assert_error_at(3, "max_stored_tests");
	ck_assert_int_eq(load_text("max_stored_tests=12abc\n"), -1);
	assert_error_at(1, "max_stored_tests");
	ck_assert_int_eq(load_text("\n\n\n\nmax_tests_per_ip_per_hour=1.5\n"), -1);
	assert_error_at(5, "max_tests_per_ip_per_hour");
	ck_assert_int_eq(load_text("max_stored_tests=99999999999999999999999\n"), -1);
	assert_error_at(1, "max_stored_tests");
}
END_TEST

START_TEST(out_of_range_integers)
{
	ck_assert_int_eq(load_text("max_stored_tests=0\n"), -1);
	assert_error_at(1, "max_stored_tests must be between 1 and");
	ck_assert_int_eq(load_text("max_stored_tests=-5\n"), -1);
	assert_error_at(1, "max_stored_tests");
	ck_assert_int_eq(load_text("sponsor_name=\"a\"\nmax_tests_per_ip_per_hour=-1\n"), -1);
	assert_error_at(2, "max_tests_per_ip_per_hour");
	ck_assert_int_eq(load_text("webhook_timeout=0\n"), -1);
	assert_error_at(1, "webhook_timeout");
	ck_assert_int_eq(load_text("webhook_connect_timeout=600\n"), -1);
	assert_error_at(1, "webhook_connect_timeout");
	/* the edges themselves are fine */
	ck_assert_int_eq(load_text("max_stored_tests=1\nmax_tests_per_ip_per_hour=0\n"
				   "webhook_timeout=55\nwebhook_connect_timeout=1\n"),
			 0);
	ck_assert_int_eq(cfg.max_stored_tests, 1);
}
END_TEST

START_TEST(bad_bool)
{
	ck_assert_int_eq(load_text("sponsor_name=\"a\"\nallow_query_api_key=maybe\n"), -1);
	assert_error_at(2, "allow_query_api_key");
}
END_TEST

START_TEST(bad_url_scheme)
{
	ck_assert_int_eq(load_text("webhook_url=\"ftp://portal.example.com/x\"\n"), -1);
	assert_error_at(1, "webhook_url must start with http:// or https://");
	ck_assert_int_eq(load_text("# c\ncentral_telemetry_url=\"javascript:alert(1)\"\n"), -1);
	assert_error_at(2, "central_telemetry_url");
	ck_assert_int_eq(load_text("webhook_url=\"https://portal.example.com/a b\"\n"), -1);
	assert_error_at(1, "webhook_url");
	ck_assert_int_eq(load_text("webhook_url=\"portal.example.com\"\n"), -1);
	assert_error_at(1, "webhook_url");
	ck_assert_int_eq(load_text("webhook_url=\"http://portal.example.com:8080/hook\"\n"), 0);
	ck_assert_str_eq(cfg.webhook_url, "http://portal.example.com:8080/hook");
}
END_TEST

START_TEST(bad_whsec_secret)
{
	/* A Standard Webhooks secret whose base64 holds no key is refused
	 * where the operator can see it, naming the key and its line. */
	static const struct {
		const char *text;
		int line;
	} bad[] = {
		{"\nwebhook_secret=\"whsec_====\"\n", 2},
		{"webhook_secret=\"whsec_\"\n", 1},
		{"webhook_secret=whsec_!!!!\n", 1},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(load_text(bad[i].text), -1);
		assert_error_at(bad[i].line, "webhook_secret");
	}
	ck_assert_int_eq(load_text("webhook_secret=\"whsec_YWJjZA==\"\n"), 0);
	ck_assert_str_eq(cfg.webhook_secret, "whsec_YWJjZA==");
}
END_TEST

START_TEST(bad_trusted_proxies)
{
	ck_assert_int_eq(load_text("trusted_proxies=\"10.0.0.0/33\"\n"), -1);
	assert_error_at(1, "trusted_proxies");
	ck_assert_int_eq(load_text("\ntrusted_proxies=\"127.0.0.1, proxy.example.com\"\n"), -1);
	assert_error_at(2, "proxy.example.com");
	ck_assert_int_eq(load_text("trusted_proxies=\"::1/129\"\n"), -1);
	assert_error_at(1, "trusted_proxies");
	ck_assert_uint_eq(cfg.n_trusted_proxies, 0);
}
END_TEST

/* libconfuse 3.3 counts three lines per comment: the error must still
 * name the line an operator sees in an editor. */
START_TEST(line_numbers_with_comments)
{
	ck_assert_int_eq(load_text("# one\n# two\n# three\nsponsor_name=\"x\" # four\n"
				   "\n#six\nmax_stored_tests=0\n"),
			 -1);
	assert_error_at(7, "max_stored_tests");
	ck_assert_int_eq(load_text("sponsor_name=\"multi\nline\"\n# c\nwebhook_url=\"x\"\n"), -1);
	assert_error_at(4, "webhook_url");
}
END_TEST

START_TEST(syntax_error)
{
	ck_assert_int_eq(load_text("sponsor_name=\"ok\"\nsponsor_city=\"unterminated\n"), -1);
	ck_assert_msg(strstr(cfg.error, "/lqos_test.conf:") != NULL, "error: %s", cfg.error);
}
END_TEST

/* A broken file leaves defaults (public endpoints carry on) and never
 * half the file's values. */
START_TEST(error_leaves_defaults)
{
	ck_assert_int_eq(load_text("sponsor_name=\"Half\"\ntelemetry_api_key=\"k\"\n"
				   "max_stored_tests=nope\n"),
			 -1);
	assert_defaults();
	ck_assert_ptr_nonnull(cfg.database_path);
}
END_TEST

START_TEST(binary_file_refused)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/lqos_test.conf", dir);
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	fwrite("sponsor_name=\"a\0b\"\n", 1, 19, f);
	fclose(f);
	ck_assert_int_eq(lqos_config_load(&cfg, path), -1);
	ck_assert_msg(strstr(cfg.error, "NUL") != NULL, "error: %s", cfg.error);
	assert_defaults();
}
END_TEST

START_TEST(directory_is_not_a_config)
{
	ck_assert_int_eq(lqos_config_load(&cfg, dir), -1);
	ck_assert_msg(strstr(cfg.error, dir) != NULL, "error: %s", cfg.error);
	ck_assert_msg(strstr(cfg.error, "not a regular file") != NULL, "error: %s", cfg.error);
	assert_defaults();
}
END_TEST

START_TEST(unreadable_file)
{
	char path[PATH_MAX];

	if (geteuid() == 0) /* the directory case covers the path */
		LQOS_SKIP_TEST("root reads any file, mode 000 or not");
	snprintf(path, sizeof(path), "%s",
		 lqos_test_write(dir, "secret.conf", "sponsor_name=\"x\"\n"));
	ck_assert_int_eq(chmod(path, 0), 0);
	ck_assert_int_eq(lqos_config_load(&cfg, path), -1);
	ck_assert_msg(strstr(cfg.error, "cannot be read") != NULL, "error: %s", cfg.error);
	assert_defaults();
}
END_TEST

START_TEST(lqos_test_conf_selects_the_file)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s",
		 lqos_test_write(dir, "other.conf", "sponsor_name=\"From Env File\"\n"));
	ck_assert_str_eq(lqos_config_default_path(), LQOS_DEFAULT_CONF);
	setenv("LQOS_TEST_CONF", "", 1);
	ck_assert_str_eq(lqos_config_default_path(), LQOS_DEFAULT_CONF);
	setenv("LQOS_TEST_CONF", path, 1);
	ck_assert_str_eq(lqos_config_default_path(), path);
	ck_assert_int_eq(lqos_config_load(&cfg, lqos_config_default_path()), 0);
	ck_assert_str_eq(cfg.sponsor_name, "From Env File");
	ck_assert_str_eq(cfg.path, path);
	/* after a mod_rewrite redirect Apache renames the variable */
	unsetenv("LQOS_TEST_CONF");
	setenv("REDIRECT_LQOS_TEST_CONF", path, 1);
	ck_assert_str_eq(lqos_config_default_path(), path);
}
END_TEST

START_TEST(env_fallbacks_when_file_is_silent)
{
	setenv("LIBREQOS_WEBHOOK_URL", "https://env-portal.example.com/hook", 1);
	setenv("LIBREQOS_WEBHOOK_SECRET", "env-secret", 1);
	setenv("LIBREQOS_TELEMETRY_API_KEY", "env-key", 1);
	/* no file at all */
	{
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/absent.conf", dir);
		ck_assert_int_eq(lqos_config_load(&cfg, path), 0);
	}
	ck_assert_str_eq(cfg.webhook_url, "https://env-portal.example.com/hook");
	ck_assert_str_eq(cfg.webhook_secret, "env-secret");
	ck_assert_str_eq(cfg.telemetry_api_key, "env-key");
	ck_assert(lqos_config_webhook_enabled(&cfg));
	/* a file that sets other keys only */
	ck_assert_int_eq(load_text("sponsor_name=\"x\"\n"), 0);
	ck_assert_str_eq(cfg.webhook_url, "https://env-portal.example.com/hook");
	ck_assert_str_eq(cfg.telemetry_api_key, "env-key");
}
END_TEST

START_TEST(file_wins_over_env)
{
	setenv("LIBREQOS_WEBHOOK_URL", "https://env-portal.example.com/hook", 1);
	setenv("LIBREQOS_WEBHOOK_SECRET", "env-secret", 1);
	setenv("LIBREQOS_TELEMETRY_API_KEY", "env-key", 1);
	ck_assert_int_eq(load_text("webhook_url=\"https://file-portal.example.com/hook\"\n"
				   "telemetry_api_key=\"file-key\"\n"),
			 0);
	ck_assert_str_eq(cfg.webhook_url, "https://file-portal.example.com/hook");
	ck_assert_str_eq(cfg.telemetry_api_key, "file-key");
	/* the one key the file leaves out still comes from the environment */
	ck_assert_str_eq(cfg.webhook_secret, "env-secret");
}
END_TEST

/* key="" in the file is the file setting the key: the environment does
 * not override it (as in the original implementation). */
START_TEST(file_empty_value_beats_env)
{
	setenv("LIBREQOS_WEBHOOK_URL", "https://env-portal.example.com/hook", 1);
	setenv("LIBREQOS_TELEMETRY_API_KEY", "env-key", 1);
	ck_assert_int_eq(load_text("webhook_url=\"\"\ntelemetry_api_key=''\n"), 0);
	ck_assert_ptr_null(cfg.webhook_url);
	ck_assert_ptr_null(cfg.telemetry_api_key);
	ck_assert(!lqos_config_webhook_enabled(&cfg));
	/* a commented-out key is not set */
	ck_assert_int_eq(load_text("#webhook_url=\"https://x.example\"\n"), 0);
	ck_assert_str_eq(cfg.webhook_url, "https://env-portal.example.com/hook");
}
END_TEST

START_TEST(empty_env_is_unset)
{
	setenv("LIBREQOS_TELEMETRY_API_KEY", "", 1);
	ck_assert_int_eq(load_text("sponsor_name=\"x\"\n"), 0);
	ck_assert_ptr_null(cfg.telemetry_api_key);
}
END_TEST

START_TEST(free_is_idempotent)
{
	ck_assert_int_eq(load_text("sponsor_name=\"x\"\n"), 0);
	lqos_config_free(&cfg);
	ck_assert_ptr_null(cfg.sponsor_name);
	ck_assert_ptr_null(cfg.path);
	lqos_config_free(&cfg);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("file");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, missing_file_is_all_defaults);
	tcase_add_test(tc, missing_directory_is_all_defaults);
	tcase_add_test(tc, empty_file_is_all_defaults);
	tcase_add_test(tc, guide_example_file);
	tcase_add_test(tc, shell_style_quoting);
	tcase_add_test(tc, numbers_and_bools_may_be_quoted);
	tcase_add_test(tc, comments_and_blank_lines);
	tcase_add_test(tc, crlf_line_endings);
	tcase_add_test(tc, unknown_keys_are_ignored);
	tcase_add_test(tc, unquoted_values_to_end_of_line);
	tcase_add_test(tc, foreign_syntax_is_ignored);
	tcase_add_test(tc, every_project_key);
	tcase_add_test(tc, empty_values_mean_unset);
	tcase_add_test(tc, bad_integer_names_file_and_line);
	tcase_add_test(tc, out_of_range_integers);
	tcase_add_test(tc, bad_bool);
	tcase_add_test(tc, bad_url_scheme);
	tcase_add_test(tc, bad_whsec_secret);
	tcase_add_test(tc, bad_trusted_proxies);
	tcase_add_test(tc, line_numbers_with_comments);
	tcase_add_test(tc, syntax_error);
	tcase_add_test(tc, error_leaves_defaults);
	tcase_add_test(tc, binary_file_refused);
	tcase_add_test(tc, directory_is_not_a_config);
	tcase_add_test(tc, unreadable_file);
	tcase_add_test(tc, free_is_idempotent);
	suite_add_tcase(s, tc);

	tc = tcase_create("environment");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, lqos_test_conf_selects_the_file);
	tcase_add_test(tc, env_fallbacks_when_file_is_silent);
	tcase_add_test(tc, file_wins_over_env);
	tcase_add_test(tc, file_empty_value_beats_env);
	tcase_add_test(tc, empty_env_is_unset);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return lqos_test_run(config_suite());
}
