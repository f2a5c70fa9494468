#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void lqos_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

void lqos_timing(const char *phase)
{
	static int enabled = -1;
	struct timespec ts;

	if (enabled < 0)
		enabled = getenv("LQOS_TIMING") != NULL;
	if (!enabled)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	fprintf(stderr, "LQOS_TIMING %s %lld\n", phase,
		(long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
}

void lqos_url_redact(const char *url, char *out, size_t outlen)
{
	const char *scheme_end = strstr(url, "://");
	const char *host = scheme_end ? scheme_end + 3 : url;
	const char *slash = strchr(host, '/');
	const char *at = strchr(host, '@');

	if (at != NULL && (slash == NULL || at < slash)) {
		snprintf(out, outlen, "%.*s***%s", (int)(host - url), url, at);
		return;
	}
	snprintf(out, outlen, "%s", url);
}
