/* IP addresses: canonical text form, CIDR ranges, client IP resolution. */
#ifndef LQOS_IPADDR_H
#define LQOS_IPADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LQOS_IP_STRLEN 46 /* INET6_ADDRSTRLEN */

struct lqos_cidr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network order; IPv4 in the first 4 bytes */
	unsigned prefix; /* 0..32 or 0..128 */
};

/* Parse `text` (IPv4 or IPv6 in any valid spelling, IPv6 zone ids and
 * surrounding junk rejected) into `out` as canonical inet_ntop text.
 * IPv4-mapped IPv6 becomes plain IPv4. Returns 0, or -1 when invalid. */
int lqos_ip_canonical(const char *text, char out[LQOS_IP_STRLEN]);

/* Parse "addr" or "addr/prefix" into `out` (host bits are masked off).
 * An IPv4-mapped prefix becomes the IPv4 prefix it covers
 * (::ffff:192.0.2.0/120 is 192.0.2.0/24; below /96 it is invalid).
 * Returns 0, or -1 when invalid. */
int lqos_cidr_parse(const char *text, struct lqos_cidr *out);

/* Parse a list separated by commas and/or spaces into `out` (at most
 * `max`). Returns the count, or -1 with `why` describing the bad entry
 * (why may be NULL). */
int lqos_cidr_parse_list(const char *text, struct lqos_cidr *out, size_t max, char *why,
			 size_t whylen);

/* True when canonical or raw address `ip` lies in `net`. */
bool lqos_cidr_contains(const struct lqos_cidr *net, const char *ip);

/* True for 127.0.0.0/8, ::1 and their mapped forms. */
bool lqos_ip_is_loopback(const char *ip);

/* Resolve the client address. `remote_addr` is the TCP peer; when it is in
 * `trusted`, walk `x_forwarded_for` from the right and take the first
 * address that is not itself trusted. Anything unparsable in the header
 * stops the walk (the last trusted hop is used). Writes the canonical form
 * to `out`; returns 0, or -1 when remote_addr itself is invalid. */
int lqos_client_ip(const char *remote_addr, const char *x_forwarded_for,
		   const struct lqos_cidr *trusted, size_t n_trusted, char out[LQOS_IP_STRLEN]);

#define LQOS_IP_BLOB_MAX 17

/* The address as a blob: family byte (4 or 6) then its bytes (the stored
 * client_ip_bin, ordered so that a prefix is a range). Returns the length,
 * or 0 when `ip` is not an address. */
size_t lqos_ip_blob(const char *ip, uint8_t out[LQOS_IP_BLOB_MAX]);

#endif
