/* The download source of the bufferbloat test and of networkQuality
 * clients: a large object generated on the fly (no disk, no memory per
 * byte), the same bytes for the same offset, with byte ranges. */
#ifndef LQOS_BULK_H
#define LQOS_BULK_H

#include <stdint.h>
#include <stdio.h>

/* 8 GiB: at 10 Gbit/s each of four streams runs 27 s on one request, and
 * the RPM draft (draft-ietf-ippm-responsiveness) wants at least 8 GB. */
#define LQOS_BULK_BYTES (8LL * 1024 * 1024 * 1024)

/* Fill buf[0..len) with the object's bytes from `offset` on. */
void lqos_bulk_fill(uint64_t offset, unsigned char *buf, size_t len);

/* The byte range a Range header asks for, in an object of `size` bytes.
 * Returns 200 (no usable Range: the whole object; also for a header that
 * is malformed or asks for several ranges, which RFC 9110 lets a server
 * ignore), 206 (*first..*last, inclusive) or 416 (not satisfiable). */
int lqos_bulk_range(const char *range, uint64_t size, uint64_t *first, uint64_t *last);

/* Answer a GET (or, with head true, a HEAD) for the object: CGI headers
 * on `out`, then the bytes by write(2) to its descriptor until done or
 * the client goes away. Returns the status sent. */
int lqos_bulk_respond(FILE *out, const char *range, uint64_t size, int head);

#endif
