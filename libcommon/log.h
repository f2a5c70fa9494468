/* Logging: CGI programs write to stderr, which Apache puts in its error
 * log. Secrets are never passed here. */
#ifndef LQOS_LOG_H
#define LQOS_LOG_H

#include <stddef.h>

#include "config.h"

/* One line to stderr. */
void lqos_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* With LQOS_TIMING set in the environment (bench/api-cost's direct
 * runs; never set by Apache's configuration), print
 * "LQOS_TIMING <phase> <CLOCK_MONOTONIC ns>" to stderr, so the cost of
 * each phase of a request can be read from outside. Otherwise nothing
 * but one getenv per process. */
void lqos_timing(const char *phase);

/* Copy `url` to `out` with any user:password@ replaced by "***@". */
void lqos_url_redact(const char *url, char *out, size_t outlen);

#endif
