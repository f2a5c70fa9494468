/* lqos-telemetry-check: walk the operator's troubleshooting list and say
 * what to do about each failure. See lqos-telemetry-check(8). */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "libcommon/config.h"
#include "libcommon/http.h"
#include "libcommon/log.h"
#include "libcommon/store.h"
#include "libcommon/webhook_outbox.h"

#define MIN_FREE_BYTES (50LL * 1024 * 1024)

struct check_state {
	int failures;
	int warnings;
};

static void report(struct check_state *st, const char *level, const char *what, const char *fix,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* One line per check: [ OK ], [WARN] or [FAIL], then what to do. */
static void report(struct check_state *st, const char *level, const char *what, const char *fix,
		   const char *fmt, ...)
{
	va_list ap;

	printf("[%s] %s: ", strcmp(level, "OK") == 0 ? " OK " : level, what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (fix != NULL)
		printf("       fix: %s\n", fix);
	if (strcmp(level, "FAIL") == 0)
		st->failures++;
	else if (strcmp(level, "WARN") == 0)
		st->warnings++;
}

static const char *mask(const char *secret)
{
	return secret ? "(set, hidden)" : "(not set)";
}

static void check_config(struct check_state *st, struct lqos_config *cfg, const char *path,
			 bool loaded)
{
	char url[1024];
	struct stat sb;

	if (!loaded) {
		report(st, "FAIL", "config",
		       "correct the line named above; values are written "
		       "key=\"value\"",
		       "%s", cfg->error);
		return;
	}
	if (stat(path, &sb) != 0)
		report(st, "OK", "config", NULL, "%s not found: every setting at its default",
		       path);
	else
		report(st, "OK", "config", NULL, "%s parsed", path);
	if (cfg->database_url != NULL) {
		lqos_url_redact(cfg->database_url, url, sizeof(url));
		printf("       database_url=%s max_stored_tests=%ld "
		       "max_tests_per_ip_per_hour=%ld\n",
		       url, cfg->max_stored_tests, cfg->max_tests_per_ip_per_hour);
	} else {
		printf("       database_path=%s max_stored_tests=%ld "
		       "max_tests_per_ip_per_hour=%ld\n",
		       cfg->database_path, cfg->max_stored_tests, cfg->max_tests_per_ip_per_hour);
	}
	if (cfg->webhook_url) {
		lqos_url_redact(cfg->webhook_url, url, sizeof(url));
		printf("       webhook_url=%s webhook_secret=%s\n", url, mask(cfg->webhook_secret));
	} else {
		printf("       webhook_url=(not set: local storage only)\n");
	}
	printf("       telemetry_api_key=%s allow_query_api_key=%s trusted_proxies=%zu entries\n",
	       mask(cfg->telemetry_api_key), cfg->allow_query_api_key ? "true" : "false",
	       cfg->n_trusted_proxies);
	if (cfg->telemetry_api_key == NULL)
		report(st, "WARN", "api key",
		       "set telemetry_api_key in the config to use the support "
		       "API from other machines",
		       "no telemetry_api_key: the support API answers "
		       "only on this server");
}

/* Can `user` create files in `dir`? Judged from ownership and mode, the
 * way the kernel would for that user (root excepted). */
static bool user_can_write(const char *user, const struct stat *sb)
{
	struct passwd *pw = getpwnam(user);
	gid_t groups[64];
	int ngroups = 64;

	if (pw == NULL)
		return false;
	if (pw->pw_uid == 0)
		return true;
	if (sb->st_uid == pw->pw_uid)
		return (sb->st_mode & S_IWUSR) && (sb->st_mode & S_IXUSR);
	if (getgrouplist(user, pw->pw_gid, groups, &ngroups) >= 0) {
		for (int i = 0; i < ngroups; i++)
			if (groups[i] == sb->st_gid)
				return (sb->st_mode & S_IWGRP) && (sb->st_mode & S_IXGRP);
	}
	return (sb->st_mode & S_IWOTH) && (sb->st_mode & S_IXOTH);
}

/* The database's directory: there, writable by the web user, with free
 * space. False when there is no directory to look further in. */
static bool check_directory(struct check_state *st, const struct lqos_config *cfg,
			    const char *web_user)
{
	char dir[4096], fix[8400];
	char *slash;
	struct stat sb;
	struct statvfs vfs;

	snprintf(dir, sizeof(dir), "%s", cfg->database_path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir) {
		report(st, "FAIL", "database",
		       "set database_path to an absolute path in a directory "
		       "of its own",
		       "database_path %s has no directory", cfg->database_path);
		return false;
	}
	*slash = '\0';
	snprintf(fix, sizeof(fix), "sudo mkdir -p %s && sudo chown %s %s", dir, web_user, dir);
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		report(st, "FAIL", "database directory", fix, "%s does not exist", dir);
		return false;
	}
	if (getpwnam(web_user) == NULL)
		report(st, "WARN", "database directory",
		       "pass --web-user with the user Apache runs as",
		       "user %s does not exist on this machine", web_user);
	else if (!user_can_write(web_user, &sb))
		report(st, "FAIL", "database directory", fix, "%s is not writable by %s", dir,
		       web_user);
	else
		report(st, "OK", "database directory", NULL, "%s is writable by %s", dir, web_user);

	if (statvfs(dir, &vfs) == 0) {
		long long avail = (long long)vfs.f_bavail * (long long)vfs.f_frsize;
		if (avail < MIN_FREE_BYTES)
			report(st, "FAIL", "disk space", "free space on that file system",
			       "%lld MB free in %s", avail / (1024 * 1024), dir);
		else
			report(st, "OK", "disk space", NULL, "%lld MB free in %s",
			       avail / (1024 * 1024), dir);
	}
	return true;
}

static void check_integrity(struct check_state *st, sqlite3 *db, const char *path, long long size)
{
	char wal[4200];
	sqlite3_stmt *q;

	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW) {
		const char *res = (const char *)sqlite3_column_text(q, 0);
		struct stat wb;
		snprintf(wal, sizeof(wal), "%s-wal", path);
		if (stat(wal, &wb) == 0)
			size += (long long)wb.st_size;
		if (res && strcmp(res, "ok") == 0)
			report(st, "OK", "database", NULL, "%s integrity ok, %lld KB with its WAL",
			       path, size / 1024);
		else
			report(st, "FAIL", "database",
			       "restore from backup (sqlite3 .backup) or move the "
			       "file away to start afresh",
			       "%s integrity check: %s", path, res ? res : "failed");
	} else {
		report(st, "FAIL", "database", "check that the file is an SQLite database",
		       "%s: %s", path, sqlite3_errmsg(db));
	}
	sqlite3_finalize(q);
}

/* The webhook queue's verdict: a warning once the oldest pending event
 * is over an hour old. */
static void report_queue(struct check_state *st, long long pending, long long age)
{
	if (pending > 0 && age > 3600)
		report(st, "WARN", "webhook queue",
		       "see lqos-webhook-flush --status for the last error",
		       "%lld events pending, oldest %lld minutes", pending, age / 60);
	else
		report(st, "OK", "webhook queue", NULL, "%lld events pending", pending);
}

static void check_queue(struct check_state *st, sqlite3 *db)
{
	sqlite3_stmt *q;

	if (sqlite3_prepare_v2(db,
			       "SELECT count(*), coalesce(min(created_at), 0) FROM webhook_outbox "
			       "WHERE state = 'pending'",
			       -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW) {
		long long pending = sqlite3_column_int64(q, 0);
		long long age = pending ? (long long)time(NULL) - sqlite3_column_int64(q, 1) : 0;
		report_queue(st, pending, age);
	}
	sqlite3_finalize(q);
}

/* PostgreSQL: connect as this user would (its passfile), migrate, count. */
static void check_postgres(struct check_state *st, const struct lqos_config *cfg)
{
	char why[1024], url[1024];
	struct lqos_db *db;
	json_t *obj, *queue;

	lqos_url_redact(cfg->database_url, url, sizeof(url));
	db = lqos_store_connect(cfg, why, sizeof(why));
	if (db == NULL) {
		report(st, "FAIL", "database",
		       "check database_url, that PostgreSQL runs and accepts this host, and "
		       "the password in the web server user's passfile (~/.pgpass or "
		       "PGPASSFILE, mode 0600); run this check as that user",
		       "%s", why);
		return;
	}
	obj = json_object();
	if (lqos_store_stats(db, obj, why, sizeof(why)) != 0) {
		report(st, "FAIL", "database",
		       "grant the role SELECT, INSERT, UPDATE, DELETE "
		       "on the lqos tables (see README, Several test servers)",
		       "%s", why);
	} else {
		report(st, "OK", "database", NULL,
		       "PostgreSQL %s: schema current, %lld tests stored", url,
		       (long long)json_integer_value(json_object_get(obj, "total_tests_stored")));
	}
	json_decref(obj);
	queue = json_object();
	if (lqos_outbox_stats(db, (long)time(NULL), queue) == 0) {
		long long pending = 0, age = 0;
		const char *key;
		json_t *t;
		json_object_foreach(queue, key, t)
		{
			json_t *a = json_object_get(t, "oldest_pending_age_seconds");
			pending += json_integer_value(json_object_get(t, "pending"));
			if (json_is_integer(a) && json_integer_value(a) > age)
				age = json_integer_value(a);
		}
		report_queue(st, pending, age);
	}
	json_decref(queue);
	lqos_store_close(db);
}

static void check_database(struct check_state *st, const struct lqos_config *cfg,
			   const char *web_user)
{
	struct stat sb;
	sqlite3 *db = NULL;

	if (cfg->database_url != NULL) {
		check_postgres(st, cfg);
		return;
	}

	if (!check_directory(st, cfg, web_user))
		return;
	if (stat(cfg->database_path, &sb) != 0) {
		report(st, "OK", "database", NULL, "%s not created yet: the first test creates it",
		       cfg->database_path);
		return;
	}
	if (sqlite3_open_v2(cfg->database_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		report(st, "FAIL", "database", "check the file's ownership and that it is SQLite",
		       "%s cannot be opened: %s", cfg->database_path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return;
	}
	sqlite3_busy_timeout(db, 5000);
	check_integrity(st, db, cfg->database_path, (long long)sb.st_size);
	check_queue(st, db);
	sqlite3_close(db);
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
	(void)p;
	(void)u;
	return s * n;
}

/* GET with optional extra header; returns the HTTP status or -1. */
static long http_get(const char *url, const char *header, char *err, size_t errlen)
{
	struct curl_slist *h = NULL;
	CURL *c = curl_easy_init();
	long status = -1;
	CURLcode cc;

	if (c == NULL)
		return -1;
	if (header)
		h = curl_slist_append(h, header);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else
		snprintf(err, errlen, "%s", curl_easy_strerror(cc));
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

static void check_url(struct check_state *st, const struct lqos_config *cfg, const char *base)
{
	char url[2048], header[600], err[256] = "";
	long bearer, xkey;

	snprintf(url, sizeof(url), "%s/api/telemetry/stats", base);
	if (cfg->telemetry_api_key == NULL) {
		bearer = http_get(url, NULL, err, sizeof(err));
		if (bearer == 200)
			report(st, "OK", "support API", NULL, "%s answers (no key configured)",
			       url);
		else
			report(st, "FAIL", "support API",
			       "run this on the server itself, or set "
			       "telemetry_api_key; check Apache's error log",
			       "%s: %s", url, bearer < 0 ? err : lqos_status_text((int)bearer));
		return;
	}
	snprintf(header, sizeof(header), "Authorization: Bearer %s", cfg->telemetry_api_key);
	bearer = http_get(url, header, err, sizeof(err));
	if (bearer == 200) {
		report(st, "OK", "support API", NULL,
		       "%s accepts 'Authorization: Bearer' (Apache "
		       "passes Authorization to the programs)",
		       url);
		return;
	}
	if (bearer < 0) {
		report(st, "FAIL", "support API", "is Apache running and is the URL right?",
		       "%s: %s", url, err);
		return;
	}
	snprintf(header, sizeof(header), "X-API-Key: %s", cfg->telemetry_api_key);
	xkey = http_get(url, header, err, sizeof(err));
	if (bearer == 401 && xkey == 200)
		report(st, "FAIL", "support API",
		       "add 'CGIPassAuth On' to the CGI directory in "
		       "Apache's config (the shipped lqos-telemetry.conf has it) and reload Apache",
		       "Bearer key refused but X-API-Key accepted: Apache does not pass "
		       "Authorization to the CGI programs");
	else
		report(st, "FAIL", "support API",
		       "compare the key with the server's config, and "
		       "read the JSON error: curl -i the URL",
		       "%s answered HTTP %ld with the configured key", url, bearer);
}

static void check_webhook(struct check_state *st, const struct lqos_config *cfg)
{
	char err[256] = "", url[1024];
	long status;

	if (cfg->webhook_url == NULL)
		return;
	lqos_url_redact(cfg->webhook_url, url, sizeof(url));
	status = http_get(cfg->webhook_url, NULL, err, sizeof(err));
	if (status < 0)
		report(st, "FAIL", "webhook URL",
		       "check DNS, firewall and the URL; the test results "
		       "wait in the outbox meanwhile",
		       "%s unreachable: %s", url, err);
	else
		report(st, "OK", "webhook URL", NULL, "%s reachable (GET answered HTTP %ld)", url,
		       status);
	if (cfg->webhook_secret == NULL)
		report(st, "WARN", "webhook secret",
		       "set webhook_secret so the portal can verify "
		       "X-LibreQoS-Signature",
		       "webhooks are sent unsigned");
}

static void check_cron(struct check_state *st, const struct lqos_config *cfg, const char *path)
{
	struct stat sb;

	if (cfg->webhook_url == NULL && cfg->central_telemetry_url == NULL)
		return;
	if (stat(path, &sb) != 0)
		report(st, "FAIL", "cron",
		       "install it: make install puts it there, or copy "
		       "apache/lqos-telemetry.cron",
		       "%s missing: failed deliveries are never retried", path);
	else
		report(st, "OK", "cron", NULL, "%s installed", path);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"url", required_argument, NULL, 'u'},
		{"web-user", required_argument, NULL, 'w'},
		{"cron-file", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *conf_path = lqos_config_default_path();
	const char *url = NULL, *web_user = "www-data", *cron = "/etc/cron.d/lqos-telemetry";
	struct check_state st = {0, 0};
	struct lqos_config cfg;
	bool loaded;
	int c;

	while ((c = getopt_long(argc, argv, "c:u:w:r:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': conf_path = optarg; break;
		case 'u': url = optarg; break;
		case 'w': web_user = optarg; break;
		case 'r': cron = optarg; break;
		case 'h':
			printf("usage: lqos-telemetry-check [--config FILE] [--url "
			       "http://server[:port]] "
			       "[--web-user USER] [--cron-file FILE]\n");
			return 0;
		default:
			fprintf(stderr, "usage: lqos-telemetry-check [--config FILE] [--url URL] "
					"[--web-user USER] [--cron-file FILE]\n");
			return 2;
		}
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	loaded = lqos_config_load(&cfg, conf_path) == 0;
	check_config(&st, &cfg, conf_path, loaded);
	check_database(&st, &cfg, web_user);
	if (url != NULL)
		check_url(&st, &cfg, url);
	check_webhook(&st, &cfg);
	check_cron(&st, &cfg, cron);
	printf("%d failed, %d warnings\n", st.failures, st.warnings);
	lqos_config_free(&cfg);
	curl_global_cleanup();
	return st.failures ? 1 : 0;
}
