/* The floor for bench/api-cost: the cheapest C CGI program that reads
 * its request body (as the submission does) and answers a small JSON
 * body. With LQOS_TIMING set it prints when main() starts, as the
 * project's programs do, so the bench can split loader from work. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(void)
{
	const char *cl = getenv("CONTENT_LENGTH");
	long left = cl != NULL ? atol(cl) : 0;
	char buf[4096];

	if (getenv("LQOS_TIMING") != NULL) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		fprintf(stderr, "LQOS_TIMING main %lld\n",
			(long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	}
	while (left > 0) {
		size_t n =
			fread(buf, 1, left < (long)sizeof(buf) ? (size_t)left : sizeof(buf), stdin);
		if (n == 0)
			break;
		left -= (long)n;
	}
	fputs("Status: 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n\r\n"
	      "{\"success\": true}\n",
	      stdout);
	return 0;
}
