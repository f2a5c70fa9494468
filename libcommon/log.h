/* Logging: CGI programs write to stderr, which Apache puts in its error
 * log. Secrets are never passed here. */
#ifndef LQOS_LOG_H
#define LQOS_LOG_H

#include <stddef.h>

#include "config.h"

/* One line to stderr. */
void lqos_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Copy `url` to `out` with any user:password@ replaced by "***@". */
void lqos_url_redact(const char *url, char *out, size_t outlen);

#endif
