/* PostgreSQL for the programs built without libpq: the CGI programs,
 * linked -static-pie with SQLite only, so that a request on an SQLite
 * installation pays nothing for PostgreSQL support (libpq would bring
 * some 25 shared libraries to load and relocate on every exec). When the
 * configuration names a PostgreSQL database, such a program hands the
 * request, before reading any of it, to its twin built with the
 * PostgreSQL back end: the program of the same name in the folder pg/
 * next to it (make install puts the twins there). The twin gets the same
 * environment, stdin and stdout, so the request passes through untouched;
 * it reads the configuration again. */
#include "store.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Set in the twin's environment: a twin that is itself a program
 * without the back end (a wrong install) answers 503 instead of handing
 * the request on again. */
#define HANDOFF_ENV "LQOS_PG_HANDOFF"

/* <this program's folder>/pg/<its name> into `out`. 0, or -1 with errno. */
static int twin_path(char *out, size_t outlen)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0)
		return -1;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash == NULL) {
		errno = ENOENT;
		return -1;
	}
	*slash = '\0';
	if ((size_t)snprintf(out, outlen, "%s/pg/%s", self, slash + 1) >= outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

void lqos_store_pg_handoff(const struct lqos_config *cfg)
{
	char twin[PATH_MAX];

	if (cfg->database_url == NULL || cfg->database_url[0] == '\0' ||
	    getenv(HANDOFF_ENV) != NULL || twin_path(twin, sizeof(twin)) != 0 ||
	    setenv(HANDOFF_ENV, "1", 1) != 0)
		return;
	/* The programs take no arguments (the request is the environment
	 * and stdin), so argv is the twin's name alone. */
	execv(twin, (char *[]){twin, NULL});
	/* Not started: lqos_store_open_pg below says why, as a 503. */
	unsetenv(HANDOFF_ENV);
}

struct lqos_db *lqos_store_open_pg(const char *url, char *why, size_t whylen)
{
	char twin[PATH_MAX];

	(void)url;
	if (getenv(HANDOFF_ENV) != NULL)
		snprintf(why, whylen,
			 "database_url is set, but this program was started as the PostgreSQL "
			 "back end and has none (install the programs built in cgi-bin/pg/: "
			 "make install)");
	else if (twin_path(twin, sizeof(twin)) != 0)
		snprintf(why, whylen,
			 "database_url is set, but this program cannot find its own path "
			 "(/proc/self/exe: %s) to start its PostgreSQL twin",
			 strerror(errno));
	else if (access(twin, X_OK) != 0)
		snprintf(why, whylen,
			 "database_url is set, but %s (this program with the PostgreSQL back "
			 "end) cannot be run: %s (make install puts it there)",
			 twin, strerror(errno));
	else
		snprintf(why, whylen, "database_url is set, but starting %s failed", twin);
	return NULL;
}
