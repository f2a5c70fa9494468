/* lqos-webhook-flush: deliver queued webhook events. Run from cron every
 * minute as the web server's user; see lqos-webhook-flush(8). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libcommon/config.h"
#include "libcommon/webhook_flush.h"
#include "libcommon/http.h"
#include "libcommon/webhook_spawn.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: lqos-webhook-flush [--config FILE] [--status] [--budget SECONDS]\n"
		     "                          [--now UNIX_SECONDS] [--wait-lock MS] [--quiet] "
		     "[--version]\n"
		     "Deliver queued lqos-telemetry webhook events (see lqos-webhook-flush(8)).\n");
}

/* Run as root (by hand, or a cron line without a user): become the owner
 * of the database so files SQLite creates stay writable by Apache. */
static int drop_to_database_owner(const char *db_path)
{
	struct stat st;
	char dir[4096];
	char *slash;

	if (geteuid() != 0)
		return 0;
	if (stat(db_path, &st) != 0) {
		snprintf(dir, sizeof(dir), "%s", db_path);
		slash = strrchr(dir, '/');
		if (slash == NULL || slash == dir)
			return 0;
		*slash = '\0';
		if (stat(dir, &st) != 0)
			return 0;
	}
	if (st.st_uid == 0)
		return 0;
	if (setgroups(0, NULL) != 0 || setgid(st.st_gid) != 0 || setuid(st.st_uid) != 0) {
		fprintf(stderr,
			"lqos-webhook-flush: cannot switch to the database owner (uid %u): %s\n",
			(unsigned)st.st_uid, strerror(errno));
		return -1;
	}
	return 0;
}

/* A run a submission started waits this long for the next submissions'
 * events before it exits: one process serves a stream of them (its start,
 * with libcurl and OpenSSL, costs several submissions). */
#ifndef PROMPT_LINGER_MS
#define PROMPT_LINGER_MS 1000
#endif

/* --lock-fd (from a submission, lqos_spawn_flusher): the descriptor
 * must be this database's lock file, locked by us. */
static int check_held_lock(const char *db_path, int fd)
{
	char path[4096];
	struct stat want, got;

	if (lqos_flush_lock_path(db_path, path, sizeof(path)) != 0 || stat(path, &want) != 0 ||
	    fstat(fd, &got) != 0 || want.st_dev != got.st_dev || want.st_ino != got.st_ino ||
	    flock(fd, LOCK_EX | LOCK_NB) != 0) {
		fprintf(stderr,
			"lqos-webhook-flush: --lock-fd %d is not the locked %s.flush.lock\n", fd,
			db_path);
		return -1;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"status", no_argument, NULL, 's'},
		{"budget", required_argument, NULL, 'b'},
		{"now", required_argument, NULL, 'n'},
		{"quiet", no_argument, NULL, 'q'},
		{"wait-lock", required_argument, NULL, 'w'},
		{"lock-fd", required_argument, NULL, 'L'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct lqos_flush_options opt = {
		.budget_seconds = 45, .lock_wait_ms = 0, .held_lock_fd = -1};
	long lock_fd = -1;
	struct lqos_flush_report report;
	struct lqos_config cfg;
	const char *conf_path = NULL;
	int status_only = 0, c, rc = 0;

	while ((c = getopt_long(argc, argv, "c:sb:n:qw:L:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': conf_path = optarg; break;
		case 's': status_only = 1; break;
		case 'b':
			if (lqos_parse_long(optarg, 1, 3600, &opt.budget_seconds) != 0) {
				fprintf(stderr,
					"lqos-webhook-flush: --budget takes 1..3600 seconds\n");
				return 2;
			}
			break;
		case 'n':
			if (lqos_parse_long(optarg, 1, 1L << 40, &opt.now) != 0) {
				fprintf(stderr, "lqos-webhook-flush: --now takes unix seconds\n");
				return 2;
			}
			break;
		case 'q': opt.quiet = true; break;
		case 'w':
			if (lqos_parse_long(optarg, 0, 60000, &opt.lock_wait_ms) != 0) {
				fprintf(stderr,
					"lqos-webhook-flush: --wait-lock takes 0..60000 ms\n");
				return 2;
			}
			break;
		case 'L':
			if (lqos_parse_long(optarg, STDERR_FILENO + 1, 1 << 20, &lock_fd) != 0) {
				fprintf(stderr, "lqos-webhook-flush: --lock-fd takes a descriptor "
						"above 2\n");
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("lqos-webhook-flush %s\n", LQOS_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (lqos_config_load(&cfg, conf_path ? conf_path : lqos_config_default_path()) != 0) {
		fprintf(stderr, "lqos-webhook-flush: configuration error: %s\n", cfg.error);
		lqos_config_free(&cfg);
		return 1;
	}
	if (drop_to_database_owner(cfg.database_path) != 0) {
		lqos_config_free(&cfg);
		return 1;
	}
	if (lock_fd >= 0) {
		opt.held_lock_fd = (int)lock_fd;
		/* The run that takes over after an edit reads the same file. */
		if (conf_path == NULL) {
			opt.config_path = lqos_config_default_path();
			if (stat(opt.config_path, &opt.config_st) == 0)
				opt.linger_ms = PROMPT_LINGER_MS;
		}
		if (check_held_lock(cfg.database_path, opt.held_lock_fd) != 0) {
			lqos_config_free(&cfg);
			return 2;
		}
	}
	if (status_only) {
		rc = lqos_flush_status(&cfg, stdout) == 0 ? 0 : 1;
	} else if (cfg.webhook_url == NULL && cfg.central_telemetry_url == NULL) {
		if (!opt.quiet)
			fprintf(stderr,
				"lqos-webhook-flush: no webhook_url or central_telemetry_url "
				"configured; nothing to do\n");
	} else {
		rc = lqos_flush_run(&cfg, &opt, &report) == 0 ? 0 : 1;
		if (report.locked_out && !opt.quiet)
			fprintf(stderr,
				"lqos-webhook-flush: another run holds the lock; exiting\n");
	}
	lqos_config_free(&cfg);
	return rc;
}
