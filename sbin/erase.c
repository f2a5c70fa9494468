/* lqos-telemetry-erase: answer a customer's erasure request. Deletes
 * every stored test, webhook outbox event and idempotency key of one
 * address or prefix in one transaction; prints and logs the counts,
 * never the data. See lqos-telemetry-erase(8). */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>

#include "libcommon/config.h"
#include "libcommon/ipaddr.h"
#include "libcommon/query.h"
#include "libcommon/store.h"

#define PROG "lqos-telemetry-erase"
/* Shorter prefixes are not one customer's: refused. */
#define MIN_PREFIX_V4 16
#define MIN_PREFIX_V6 32

static void usage(FILE *out)
{
	fprintf(out,
		"usage: " PROG " [--config FILE] [--dry-run] ADDRESS|PREFIX\n"
		"Delete every stored test, webhook event and idempotency key of an address or\n"
		"prefix (203.0.113.7, 203.0.113.0/24, 2001:db8:1:2::/64). See " PROG "(8).\n");
}

/* The address or prefix, checked: valid, no host bits beyond the prefix
 * (a typo must not widen an erasure), not wider than one customer's.
 * Fills the blob range of `f` and `canonical`. Returns 0, or -1 after
 * saying why on stderr. */
static int parse_target(const char *text, struct lqos_filter *f, char *canonical, size_t len)
{
	char addr[LQOS_IP_STRLEN + 8], given[LQOS_IP_STRLEN], network[LQOS_IP_STRLEN];
	struct lqos_cidr c;
	char *slash;

	snprintf(addr, sizeof(addr), "%s", text);
	slash = strchr(addr, '/');
	if (slash != NULL)
		*slash = '\0';
	if (strlen(text) >= sizeof(addr) || lqos_cidr_parse(text, &c) != 0 ||
	    lqos_ip_canonical(addr, given) != 0 ||
	    inet_ntop(c.family, c.addr, network, sizeof(network)) == NULL ||
	    lqos_filter_set_prefix(f, text, canonical, len) != 0) {
		fprintf(stderr, PROG ": '%.80s' is not an IP address or CIDR prefix\n", text);
		return -1;
	}
	if (strcmp(given, network) != 0) {
		fprintf(stderr,
			PROG ": %s/%u has bits set after the prefix; give the network (%s/%u) or "
			     "the address alone\n",
			given, c.prefix, network, c.prefix);
		return -1;
	}
	if (c.prefix < (c.family == AF_INET ? MIN_PREFIX_V4 : MIN_PREFIX_V6)) {
		fprintf(stderr,
			PROG ": %s is wider than one customer's (at least /%d for IPv4, /%d for "
			     "IPv6)\n",
			canonical, MIN_PREFIX_V4, MIN_PREFIX_V6);
		return -1;
	}
	return 0;
}

/* The counts, on stdout and as one syslog line. The log names the
 * family and prefix length only: the address is the personal data being
 * erased, and the operator's ticket holds it. */
static void report(const char *canonical, const struct lqos_filter *f, bool dry_run,
		   const struct lqos_erase_counts *n)
{
	const char *verb = dry_run ? "would delete" : "deleted";
	unsigned bits = 0;
	const char *slash = strchr(canonical, '/');

	if (slash == NULL || sscanf(slash + 1, "%u", &bits) != 1)
		bits = f->blob_len == 5 ? 32 : 128;
	printf("%s%s: %s %ld stored tests, %ld undelivered webhook events, %ld delivered or "
	       "failed webhook events, %ld idempotency keys\n",
	       dry_run ? "dry run, nothing changed: " : "", canonical, verb, n->tests,
	       n->outbox_pending, n->outbox_settled, n->submission_keys);
	openlog(PROG, LOG_PID, LOG_USER);
	syslog(LOG_NOTICE,
	       "%s for an IPv%c /%u: %s %ld stored tests, %ld undelivered and %ld settled webhook "
	       "events, %ld idempotency keys",
	       dry_run ? "dry run" : "erasure", f->blob_len == 5 ? '4' : '6', bits, verb, n->tests,
	       n->outbox_pending, n->outbox_settled, n->submission_keys);
	closelog();
}

/* Open the existing database (never create one: run as root that would
 * leave a file Apache cannot write) and erase. Returns the exit status. */
static int erase(const struct lqos_config *cfg, const char *canonical, const struct lqos_filter *f,
		 bool dry_run)
{
	struct lqos_erase_counts counts;
	char why[512];
	struct stat st;
	sqlite3 *db;
	int rc;

	if (cfg->database_path == NULL || stat(cfg->database_path, &st) != 0) {
		fprintf(stderr, PROG ": no telemetry database at %s (database_path in %s)\n",
			cfg->database_path ? cfg->database_path : "(unset)", cfg->path);
		return 1;
	}
	db = lqos_store_open(cfg->database_path, why, sizeof(why));
	if (db == NULL) {
		fprintf(stderr, PROG ": %s\n", why);
		return 1;
	}
	rc = lqos_store_erase(db, f->lo, f->hi, f->blob_len, dry_run, &counts, why, sizeof(why));
	lqos_store_close(db);
	if (rc != 0) {
		fprintf(stderr, PROG ": nothing deleted: %s\n", why);
		return 1;
	}
	report(canonical, f, dry_run, &counts);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"dry-run", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct lqos_filter f = {0};
	struct lqos_config cfg;
	char canonical[LQOS_IP_STRLEN + 8];
	const char *conf_path = NULL;
	bool dry_run = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "c:nhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': conf_path = optarg; break;
		case 'n': dry_run = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf(PROG " %s\n", LQOS_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	if (parse_target(argv[optind], &f, canonical, sizeof(canonical)) != 0)
		return 2;
	if (lqos_config_load(&cfg, conf_path ? conf_path : lqos_config_default_path()) != 0) {
		fprintf(stderr, PROG ": configuration error: %s\n", cfg.error);
		lqos_config_free(&cfg);
		return 1;
	}
	rc = erase(&cfg, canonical, &f, dry_run);
	lqos_config_free(&cfg);
	return rc;
}
