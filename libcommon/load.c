#include "load.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#define SINK_CHUNK (64 * 1024)

/* read(2) straight from the descriptor: stdio would copy every byte once
 * more, and this loop is the whole cost of the upload sink. */
static long drain(FILE *in, long want, long max, char *buf)
{
	int fd = fileno(in);
	long got = 0;

	for (;;) {
		/* Without a length, read until EOF or one byte past max. */
		long room = want >= 0 ? want - got : (max == LONG_MAX ? SINK_CHUNK : max + 1 - got);
		ssize_t n;

		if (room <= 0)
			break;
		n = read(fd, buf, room < SINK_CHUNK ? (size_t)room : SINK_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	return got;
}

int lqos_load_sink(const struct lqos_request *req, FILE *in, FILE *out, long max)
{
	static char buf[SINK_CHUNK];
	long want = -1, got;

	if (req->content_length != NULL && req->content_length[0] != '\0') {
		if (lqos_parse_long(req->content_length, 0, LONG_MAX, &want) != 0)
			return lqos_respond_error(out, 400, NULL,
						  "Content-Length is not a valid number");
		if (want > max)
			return lqos_respond_error(
				out, 413, NULL,
				"upload is %ld bytes; the sink takes at most %ld per request", want,
				max);
	}
	got = drain(in, want, max, buf);
	if (want < 0 && max != LONG_MAX && got > max)
		return lqos_respond_error(
			out, 413, NULL,
			"upload is over %ld bytes; the sink takes at most %ld per request", max,
			max);
	if (want >= 0 && got != want)
		return lqos_respond_error(out, 400, NULL, "upload ended after %ld of %ld bytes",
					  got, want);
	return lqos_respond_json(out, 200, NULL,
				 json_pack("{s:b, s:I}", "success", 1, "bytes", (json_int_t)got));
}
