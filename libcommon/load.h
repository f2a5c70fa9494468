/* The bufferbloat test's load endpoints that need a program: the upload
 * sink. (The download source and the latency probe are static files that
 * Apache serves itself; see apache/lqos-telemetry.conf.in.) */
#ifndef LQOS_LOAD_H
#define LQOS_LOAD_H

#include <limits.h>
#include <stdio.h>

#include "http.h"

/* Largest body the sink accepts in one request: no limit (LONG_MAX), so
 * that a multi-gigabit upload stream or a networkQuality client can send
 * for as long as it likes. Apache's LimitRequestBody for the sink's URL
 * is 0 (unlimited) too. */
#define LQOS_SINK_MAX_BODY LONG_MAX

/* Read and discard the request body from `in`: exactly CONTENT_LENGTH
 * bytes when the header is present, otherwise everything up to EOF (a
 * chunked upload), at most `max` bytes either way. Answers on `out`:
 * 200 {"success": true, "bytes": N}, or 400 (bad length, body ended
 * early) / 413 (over `max`) through lqos_respond_error. Returns the
 * status. Nothing is kept in memory beyond one 64 KiB buffer. */
int lqos_load_sink(const struct lqos_request *req, FILE *in, FILE *out, long max);

#endif
