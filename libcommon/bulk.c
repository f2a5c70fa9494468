#include "bulk.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#define BLOCK_SHIFT 20 /* the random pattern: 1 MiB */
#define BLOCK (1u << BLOCK_SHIFT)
#define CHUNK (256u * 1024) /* written per write(2); divides BLOCK */

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* 1 MiB of pseudo-random words from a fixed seed, made once. Each 1 MiB
 * block of the object is the pattern XORed with a word derived from the
 * block's index, so no two blocks are alike and nothing repeats that a
 * compressor could find. */
static const uint64_t *pattern(void)
{
	static uint64_t words[BLOCK / 8];
	static bool made;

	if (!made) {
		uint64_t s = 0x6c716f732d62756cULL;
		for (size_t i = 0; i < BLOCK / 8; i++)
			words[i] = splitmix64(&s);
		made = true;
	}
	return words;
}

static uint64_t block_key(uint64_t block)
{
	uint64_t s = block ^ 0x5eed5eed5eed5eedULL;

	return splitmix64(&s);
}

/* One aligned chunk: `base` a multiple of CHUNK. */
static void fill_chunk(uint64_t base, uint64_t *w)
{
	const uint64_t *pat = pattern() + (base & (BLOCK - 1)) / 8;
	uint64_t key = block_key(base >> BLOCK_SHIFT);

	for (size_t i = 0; i < CHUNK / 8; i++)
		w[i] = pat[i] ^ key;
}

void lqos_bulk_fill(uint64_t offset, unsigned char *buf, size_t len)
{
	static uint64_t chunk[CHUNK / 8];

	while (len > 0) {
		uint64_t base = offset & ~(uint64_t)(CHUNK - 1);
		size_t skip = (size_t)(offset - base);
		size_t n = CHUNK - skip < len ? CHUNK - skip : len;

		fill_chunk(base, chunk);
		memcpy(buf, (unsigned char *)chunk + skip, n);
		buf += n;
		offset += n;
		len -= n;
	}
}

/* A decimal number of at most 19 digits; advances *p. */
static bool parse_u64(const char **p, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	int digits = 0;

	while (*s >= '0' && *s <= '9') {
		if (++digits > 19)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
		s++;
	}
	if (digits == 0)
		return false;
	*p = s;
	*out = v;
	return true;
}

int lqos_bulk_range(const char *range, uint64_t size, uint64_t *first, uint64_t *last)
{
	const char *p = range;
	uint64_t a, b;

	*first = 0;
	*last = size - 1;
	if (range == NULL || strncmp(p, "bytes=", 6) != 0 || strchr(p, ',') != NULL)
		return 200;
	p += 6;
	while (*p == ' ')
		p++;
	if (*p == '-') { /* the last b bytes */
		p++;
		if (!parse_u64(&p, &b) || *p != '\0')
			return 200;
		if (b == 0)
			return 416;
		*first = b >= size ? 0 : size - b;
		return 206;
	}
	if (!parse_u64(&p, &a) || *p++ != '-')
		return 200;
	if (*p == '\0') {
		b = size - 1;
	} else if (!parse_u64(&p, &b) || *p != '\0' || b < a) {
		return 200;
	}
	if (a >= size)
		return 416;
	*first = a;
	*last = b < size ? b : size - 1;
	return 206;
}

static bool write_all(int fd, const unsigned char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

int lqos_bulk_respond(FILE *out, const char *range, uint64_t size, int head)
{
	static uint64_t chunk[CHUNK / 8];
	uint64_t first, last, pos;
	int status = lqos_bulk_range(range, size, &first, &last);
	int fd = fileno(out);

	/* Never compressed, cached or transformed: every byte must cross the
	 * network (Apache's no-gzip is set for /api/ too). */
	fputs("Cache-Control: no-store, no-transform\r\n"
	      "Accept-Ranges: bytes\r\n"
	      "Timing-Allow-Origin: *\r\n",
	      out);
	if (status == 416) {
		fprintf(out,
			"Status: 416 Range Not Satisfiable\r\n"
			"Content-Range: bytes */%" PRIu64 "\r\n"
			"Content-Type: application/json; charset=utf-8\r\n\r\n"
			"{\"success\": false, \"error\": \"the range is outside the %" PRIu64
			" bytes of the object\"}\n",
			size, size);
		fflush(out);
		return status;
	}
	if (status == 206)
		fprintf(out,
			"Status: 206 Partial Content\r\n"
			"Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64 "\r\n",
			first, last, size);
	else
		fputs("Status: 200 OK\r\n", out);
	fprintf(out,
		"Content-Type: application/octet-stream\r\n"
		"Content-Length: %" PRIu64 "\r\n\r\n",
		last - first + 1);
	fflush(out);
	if (head)
		return status;
	/* A client that goes away ends the loop with EPIPE, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	for (pos = first; pos <= last;) {
		uint64_t base = pos & ~(uint64_t)(CHUNK - 1);
		size_t skip = (size_t)(pos - base);
		uint64_t left = last - pos + 1;
		size_t n = CHUNK - skip < left ? CHUNK - skip : (size_t)left;

		fill_chunk(base, chunk);
		if (!write_all(fd, (unsigned char *)chunk + skip, n))
			break;
		pos += n;
	}
	return status;
}
