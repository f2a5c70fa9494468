#include "ipaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Parse an address into family and 16 bytes, unmapping v4-mapped. */
static int ip_parse(const char *text, int *family, uint8_t addr[16])
{
	char buf[LQOS_IP_STRLEN + 2];
	size_t len;

	if (text == NULL)
		return -1;
	len = strlen(text);
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, text, len + 1);
	/* Accept the bracketed form some proxies send: [2001:db8::1] */
	if (buf[0] == '[' && buf[len - 1] == ']') {
		memmove(buf, buf + 1, len - 2);
		buf[len - 2] = '\0';
	}
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, addr) == 1) {
		if (memcmp(addr, v4mapped_prefix, 12) == 0) {
			memmove(addr, addr + 12, 4);
			memset(addr + 4, 0, 12);
			*family = AF_INET;
		} else {
			*family = AF_INET6;
		}
		return 0;
	}
	return -1;
}

int lqos_ip_canonical(const char *text, char out[LQOS_IP_STRLEN])
{
	uint8_t addr[16];
	int family;

	if (ip_parse(text, &family, addr) != 0)
		return -1;
	if (inet_ntop(family, addr, out, LQOS_IP_STRLEN) == NULL)
		return -1;
	return 0;
}

static int parse_prefix(const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9' || strlen(s) > 3)
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int lqos_cidr_parse(const char *text, struct lqos_cidr *out)
{
	char buf[LQOS_IP_STRLEN + 8];
	char *slash;
	unsigned max;
	bool mapped;

	if (text == NULL || strlen(text) >= sizeof(buf))
		return -1;
	strcpy(buf, text);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	if (ip_parse(buf, &out->family, out->addr) != 0)
		return -1;
	/* An IPv4-mapped prefix (::ffff:192.0.2.0/120) counts its length in
	 * IPv6 bits: keep it as the IPv4 prefix it covers (/24). Shorter than
	 * /96 it would reach beyond the mapped range. */
	mapped = out->family == AF_INET && strchr(buf, ':') != NULL;
	max = out->family == AF_INET && !mapped ? 32 : 128;
	if (slash == NULL) {
		out->prefix = out->family == AF_INET ? 32 : 128;
	} else if (parse_prefix(slash + 1, max, &out->prefix) != 0) {
		return -1;
	} else if (mapped) {
		if (out->prefix < 96)
			return -1;
		out->prefix -= 96;
	}
	for (unsigned bit = out->prefix; bit < 128; bit++)
		out->addr[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
	return 0;
}

int lqos_cidr_parse_list(const char *text, struct lqos_cidr *out, size_t max, char *why,
			 size_t whylen)
{
	char *copy = strdup(text);
	char *save = NULL;
	int n = 0;

	if (copy == NULL) {
		if (why)
			snprintf(why, whylen, "out of memory");
		return -1;
	}
	for (char *tok = strtok_r(copy, ", \t", &save); tok != NULL;
	     tok = strtok_r(NULL, ", \t", &save)) {
		if ((size_t)n >= max) {
			if (why)
				snprintf(why, whylen, "more than %zu entries", max);
			n = -1;
			break;
		}
		if (lqos_cidr_parse(tok, &out[n]) != 0) {
			if (why)
				snprintf(why, whylen, "'%.60s' is not an IP address or CIDR range",
					 tok);
			n = -1;
			break;
		}
		n++;
	}
	free(copy);
	return n;
}

bool lqos_cidr_contains(const struct lqos_cidr *net, const char *ip)
{
	uint8_t addr[16];
	int family;
	unsigned full, rest;

	if (ip_parse(ip, &family, addr) != 0 || family != net->family)
		return false;
	full = net->prefix / 8;
	rest = net->prefix % 8;
	if (memcmp(addr, net->addr, full) != 0)
		return false;
	if (rest != 0) {
		uint8_t mask = (uint8_t)(0xff00u >> rest);
		if ((addr[full] & mask) != net->addr[full])
			return false;
	}
	return true;
}

bool lqos_ip_is_loopback(const char *ip)
{
	uint8_t addr[16];
	int family;
	static const uint8_t v6_loopback[16] = {[15] = 1};

	if (ip_parse(ip, &family, addr) != 0)
		return false;
	if (family == AF_INET)
		return addr[0] == 127;
	return memcmp(addr, v6_loopback, 16) == 0;
}

static bool ip_is_trusted(const char *ip, const struct lqos_cidr *trusted, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lqos_cidr_contains(&trusted[i], ip))
			return true;
	return false;
}

int lqos_client_ip(const char *remote_addr, const char *x_forwarded_for,
		   const struct lqos_cidr *trusted, size_t n_trusted, char out[LQOS_IP_STRLEN])
{
	char hop[LQOS_IP_STRLEN];
	const char *end;

	if (lqos_ip_canonical(remote_addr, out) != 0)
		return -1;
	if (x_forwarded_for == NULL || n_trusted == 0 || !ip_is_trusted(out, trusted, n_trusted))
		return 0;

	/* Walk right to left; each hop we trust may vouch for the next. */
	end = x_forwarded_for + strlen(x_forwarded_for);
	while (end > x_forwarded_for) {
		const char *start = end;
		char token[LQOS_IP_STRLEN + 2];
		size_t len;

		while (start > x_forwarded_for && start[-1] != ',')
			start--;
		/* trim spaces */
		const char *a = start, *b = end;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		len = (size_t)(b - a);
		if (len == 0 || len >= sizeof(token))
			return 0;
		memcpy(token, a, len);
		token[len] = '\0';
		if (lqos_ip_canonical(token, hop) != 0)
			return 0;
		memcpy(out, hop, LQOS_IP_STRLEN);
		if (!ip_is_trusted(hop, trusted, n_trusted))
			return 0;
		end = start > x_forwarded_for ? start - 1 : start;
	}
	return 0;
}

size_t lqos_ip_blob(const char *ip, uint8_t out[LQOS_IP_BLOB_MAX])
{
	struct lqos_cidr c;

	if (ip == NULL || strchr(ip, '/') != NULL || lqos_cidr_parse(ip, &c) != 0)
		return 0;
	if (c.family == AF_INET) {
		out[0] = 4;
		memcpy(out + 1, c.addr, 4);
		return 5;
	}
	out[0] = 6;
	memcpy(out + 1, c.addr, 16);
	return 17;
}
