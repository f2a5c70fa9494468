/* IP addresses: the canonical form stored for every client, CIDR ranges
 * for trusted_proxies, loopback, and the X-Forwarded-For walk. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "libcommon/ipaddr.h"
#include "testutil.h"

static void assert_canon(const char *in, const char *want)
{
	char out[LQOS_IP_STRLEN];

	memset(out, 'x', sizeof(out));
	ck_assert_msg(lqos_ip_canonical(in, out) == 0, "'%s' was rejected", in);
	ck_assert_msg(strcmp(out, want) == 0, "'%s' -> '%s', want '%s'", in, out, want);
}

static void assert_rejected(const char *in)
{
	char out[LQOS_IP_STRLEN];

	ck_assert_msg(lqos_ip_canonical(in, out) == -1, "'%s' was accepted", in ? in : "(null)");
}

START_TEST(ipv4_canonical)
{
	assert_canon("192.168.1.100", "192.168.1.100");
	assert_canon("0.0.0.0", "0.0.0.0");
	assert_canon("255.255.255.255", "255.255.255.255");
	assert_canon("8.8.8.8", "8.8.8.8");
}
END_TEST

START_TEST(ipv6_spellings_collapse)
{
	assert_canon("2001:db8::1", "2001:db8::1");
	assert_canon("2001:DB8::1", "2001:db8::1");
	assert_canon("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1");
	assert_canon("2001:db8:0:0:0:0:0:1", "2001:db8::1");
	assert_canon("2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1");
	assert_canon("FE80:0000:0000:0000:0202:B3FF:FE1E:8329", "fe80::202:b3ff:fe1e:8329");
	assert_canon("0:0:0:0:0:0:0:1", "::1");
	assert_canon("::", "::");
	assert_canon("2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:6");
}
END_TEST

/* Apache gives REMOTE_ADDR as ::ffff:a.b.c.d on a dual-stack socket: the
 * same customer must be stored (and looked up) as plain IPv4. */
START_TEST(ipv4_mapped_becomes_ipv4)
{
	assert_canon("::ffff:192.0.2.1", "192.0.2.1");
	assert_canon("::FFFF:192.0.2.1", "192.0.2.1");
	assert_canon("::ffff:c000:0201", "192.0.2.1");
	assert_canon("0:0:0:0:0:ffff:192.0.2.1", "192.0.2.1");
	assert_canon("0000:0000:0000:0000:0000:ffff:255.255.255.255", "255.255.255.255");
	assert_canon("[::ffff:10.1.2.3]", "10.1.2.3");
}
END_TEST

START_TEST(bracketed_form)
{
	assert_canon("[2001:db8::1]", "2001:db8::1");
	assert_canon("[::1]", "::1");
	assert_rejected("[2001:db8::1");
	assert_rejected("2001:db8::1]");
	assert_rejected("[]");
	assert_rejected("[[::1]]");
}
END_TEST

START_TEST(junk_is_rejected)
{
	assert_rejected(NULL);
	assert_rejected("");
	assert_rejected(" ");
	assert_rejected(" 1.2.3.4");
	assert_rejected("1.2.3.4 ");
	assert_rejected("1.2.3.4\n");
	assert_rejected("1.2.3");
	assert_rejected("1.2.3.4.5");
	assert_rejected("256.1.1.1");
	assert_rejected("1.2.3.-4");
	assert_rejected("1.2.3.4/32");
	assert_rejected("1.2.3.4:80");
	assert_rejected("localhost");
	assert_rejected("fe80::1%eth0");
	assert_rejected("fe80::1%25eth0");
	assert_rejected("2001:db8::1::2");
	assert_rejected("2001:db8:::1");
	assert_rejected("12345::1");
	assert_rejected("g::1");
	assert_rejected("unknown");
	assert_rejected("1.2.3.4, 5.6.7.8");
}
END_TEST

/* Leading zeros and shorthand are whatever inet_pton says: never the
 * octal/short forms inet_aton would take (01.02.03.04 is not 1.2.3.4). */
START_TEST(leading_zeros_follow_inet_pton)
{
	const char *cases[] = {"01.2.3.4", "1.2.3.04",   "001.002.003.004", "0x7f.0.0.1",
			       "127.1",    "2130706433", "1.2.3.00"};
	unsigned char buf[16];
	char out[LQOS_IP_STRLEN];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int pton = inet_pton(AF_INET, cases[i], buf) == 1;
		int ours = lqos_ip_canonical(cases[i], out) == 0;
		ck_assert_msg(pton == ours, "'%s': inet_pton %d, ours %d", cases[i], pton, ours);
		ck_assert_msg(!ours, "'%s' accepted as %s", cases[i], out);
	}
	assert_canon("2001:0db8:000a::0001", "2001:db8:a::1");
}
END_TEST

START_TEST(too_long_is_rejected)
{
	char longtext[256];

	memset(longtext, '1', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	assert_rejected(longtext);
	/* 46 characters: one more than the longest valid text form */
	assert_rejected("0000:0000:0000:0000:0000:ffff:255.255.255.2555");
	assert_rejected("0000:0000:0000:0000:0000:0000:0000:0000:0000:0001");
}
END_TEST

static struct lqos_cidr cidr(const char *text)
{
	struct lqos_cidr c;

	ck_assert_msg(lqos_cidr_parse(text, &c) == 0, "CIDR '%s' rejected", text);
	return c;
}

START_TEST(cidr_parse_and_mask)
{
	struct lqos_cidr c;
	static const unsigned char v4[4] = {10, 128, 0, 0};
	static const unsigned char v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x10};

	c = cidr("10.200.3.4/9");
	ck_assert_int_eq(c.family, AF_INET);
	ck_assert_uint_eq(c.prefix, 9);
	ck_assert_mem_eq(c.addr, v4, 4);

	c = cidr("2001:db8:1f:3456::1/44");
	ck_assert_int_eq(c.family, AF_INET6);
	ck_assert_uint_eq(c.prefix, 44);
	ck_assert_mem_eq(c.addr, v6, 16);

	c = cidr("192.0.2.7");
	ck_assert_uint_eq(c.prefix, 32);
	c = cidr("2001:db8::7");
	ck_assert_uint_eq(c.prefix, 128);
	c = cidr("::ffff:10.0.0.1");
	ck_assert_int_eq(c.family, AF_INET);
	ck_assert_uint_eq(c.prefix, 32);
}
END_TEST

START_TEST(cidr_rejects)
{
	struct lqos_cidr c;
	const char *bad[] = {"",
			     "/8",
			     "10.0.0.0/",
			     "10.0.0.0/33",
			     "10.0.0.0/-1",
			     "10.0.0.0/+8",
			     "10.0.0.0/ 8",
			     "10.0.0.0/8 ",
			     "10.0.0.0/8/8",
			     "10.0.0.0/1000",
			     "10.0.0.0/x",
			     "::/129",
			     "10.0.0.0/4294967304",
			     "example.com/8",
			     "10.0.0/8"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(lqos_cidr_parse(bad[i], &c) == -1, "'%s' accepted", bad[i]);
	ck_assert_int_eq(lqos_cidr_parse(NULL, &c), -1);
}
END_TEST

START_TEST(cidr_contains_edges)
{
	struct lqos_cidr all4 = cidr("0.0.0.0/0"), all6 = cidr("::/0");
	struct lqos_cidr host = cidr("192.0.2.7/32"), net8 = cidr("10.0.0.0/8");
	struct lqos_cidr net20 = cidr("192.168.0.0/20"), net64 = cidr("2001:db8:1:2::/64");
	struct lqos_cidr host6 = cidr("2001:db8::1/128");

	ck_assert(lqos_cidr_contains(&all4, "1.2.3.4"));
	ck_assert(lqos_cidr_contains(&all4, "255.255.255.255"));
	ck_assert(!lqos_cidr_contains(&all4, "2001:db8::1"));
	ck_assert(lqos_cidr_contains(&all6, "2001:db8::1"));
	ck_assert(lqos_cidr_contains(&all6, "::"));
	ck_assert(!lqos_cidr_contains(&all6, "1.2.3.4"));

	ck_assert(lqos_cidr_contains(&host, "192.0.2.7"));
	ck_assert(!lqos_cidr_contains(&host, "192.0.2.6"));
	ck_assert(!lqos_cidr_contains(&host, "192.0.2.8"));

	ck_assert(lqos_cidr_contains(&net8, "10.0.0.0"));
	ck_assert(lqos_cidr_contains(&net8, "10.255.255.255"));
	ck_assert(!lqos_cidr_contains(&net8, "11.0.0.0"));
	ck_assert(!lqos_cidr_contains(&net8, "9.255.255.255"));
	/* the mapped spelling of a member is a member */
	ck_assert(lqos_cidr_contains(&net8, "::ffff:10.1.2.3"));

	ck_assert(lqos_cidr_contains(&net20, "192.168.15.255"));
	ck_assert(!lqos_cidr_contains(&net20, "192.168.16.0"));

	ck_assert(lqos_cidr_contains(&net64, "2001:db8:1:2:ffff:ffff:ffff:ffff"));
	ck_assert(lqos_cidr_contains(&net64, "2001:DB8:1:2::"));
	ck_assert(!lqos_cidr_contains(&net64, "2001:db8:1:3::"));
	ck_assert(!lqos_cidr_contains(&net64, "10.0.0.1"));

	ck_assert(lqos_cidr_contains(&host6, "2001:0db8:0:0::0001"));
	ck_assert(!lqos_cidr_contains(&host6, "2001:db8::2"));

	ck_assert(!lqos_cidr_contains(&net8, "not-an-ip"));
	ck_assert(!lqos_cidr_contains(&net8, ""));
	ck_assert(!lqos_cidr_contains(&net8, NULL));
}
END_TEST

START_TEST(cidr_list)
{
	struct lqos_cidr list[4];
	char why[128] = "";

	ck_assert_int_eq(lqos_cidr_parse_list("127.0.0.1, 10.0.0.0/8 ::1\t192.168.0.0/16", list, 4,
					      why, sizeof(why)),
			 4);
	ck_assert(lqos_cidr_contains(&list[3], "192.168.200.1"));
	ck_assert_int_eq(lqos_cidr_parse_list("", list, 4, why, sizeof(why)), 0);
	ck_assert_int_eq(lqos_cidr_parse_list(" , ,", list, 4, why, sizeof(why)), 0);
	ck_assert_int_eq(lqos_cidr_parse_list("10.0.0.1,nope", list, 4, why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, "'nope'") != NULL, "why: %s", why);
	ck_assert_int_eq(lqos_cidr_parse_list("1.1.1.1 2.2.2.2 3.3.3.3 4.4.4.4 5.5.5.5", list, 4,
					      why, sizeof(why)),
			 -1);
	ck_assert_msg(strstr(why, "more than 4") != NULL, "why: %s", why);
	ck_assert_int_eq(lqos_cidr_parse_list("10.0.0.0/99", list, 4, NULL, 0), -1);
}
END_TEST

START_TEST(loopback)
{
	ck_assert(lqos_ip_is_loopback("127.0.0.1"));
	ck_assert(lqos_ip_is_loopback("127.1.2.3"));
	ck_assert(lqos_ip_is_loopback("127.255.255.254"));
	ck_assert(lqos_ip_is_loopback("::1"));
	ck_assert(lqos_ip_is_loopback("0:0:0:0:0:0:0:1"));
	ck_assert(lqos_ip_is_loopback("::ffff:127.0.0.1"));
	ck_assert(lqos_ip_is_loopback("[::1]"));
	ck_assert(!lqos_ip_is_loopback("128.0.0.1"));
	ck_assert(!lqos_ip_is_loopback("126.255.255.255"));
	ck_assert(!lqos_ip_is_loopback("10.0.0.1"));
	ck_assert(!lqos_ip_is_loopback("::"));
	ck_assert(!lqos_ip_is_loopback("::2"));
	ck_assert(!lqos_ip_is_loopback("::127.0.0.1")); /* v4-compatible, not mapped */
	ck_assert(!lqos_ip_is_loopback("::ffff:10.0.0.1"));
	ck_assert(!lqos_ip_is_loopback("2001:db8::1"));
	ck_assert(!lqos_ip_is_loopback("localhost"));
	ck_assert(!lqos_ip_is_loopback(""));
	ck_assert(!lqos_ip_is_loopback(NULL));
}
END_TEST

static struct lqos_cidr proxies[3];

static void proxies_setup(void)
{
	ck_assert_int_eq(lqos_cidr_parse_list("10.0.0.0/8, 2001:db8:ffff::/48, 127.0.0.1", proxies,
					      3, NULL, 0),
			 3);
}

static void assert_client(const char *remote, const char *xff, size_t ntrusted, const char *want)
{
	char out[LQOS_IP_STRLEN];

	ck_assert_msg(lqos_client_ip(remote, xff, proxies, ntrusted, out) == 0,
		      "remote '%s' rejected", remote);
	ck_assert_msg(strcmp(out, want) == 0, "remote %s xff '%s' -> %s, want %s", remote,
		      xff ? xff : "(none)", out, want);
}

START_TEST(client_ip_without_proxies)
{
	assert_client("203.0.113.5", NULL, 3, "203.0.113.5");
	assert_client("::ffff:203.0.113.5", NULL, 3, "203.0.113.5");
	assert_client("2001:DB8::5", NULL, 3, "2001:db8::5");
	/* nothing trusted: the header is never believed, even from 10/8 */
	assert_client("10.0.0.1", "198.51.100.7", 0, "10.0.0.1");
}
END_TEST

START_TEST(untrusted_peer_ignores_xff)
{
	assert_client("203.0.113.5", "198.51.100.7", 3, "203.0.113.5");
	assert_client("203.0.113.5", "10.0.0.9", 3, "203.0.113.5");
	assert_client("203.0.113.5", "127.0.0.1", 3, "203.0.113.5");
	assert_client("11.0.0.1", "198.51.100.7", 3, "11.0.0.1");
}
END_TEST

START_TEST(trusted_peer_takes_rightmost_untrusted)
{
	assert_client("10.0.0.1", "198.51.100.7", 3, "198.51.100.7");
	assert_client("::ffff:10.0.0.1", "198.51.100.7", 3, "198.51.100.7");
	/* a client can prepend anything; only the right-most hop counts */
	assert_client("10.0.0.1", "1.1.1.1, 198.51.100.7", 3, "198.51.100.7");
	assert_client("10.0.0.1", "127.0.0.1,198.51.100.7", 3, "198.51.100.7");
	assert_client("10.0.0.1", "  198.51.100.7  ", 3, "198.51.100.7");
	assert_client("10.0.0.1", "::ffff:198.51.100.7", 3, "198.51.100.7");
	assert_client("10.0.0.1", "2001:DB8:1::9", 3, "2001:db8:1::9");
	assert_client("10.0.0.1", "[2001:db8:1::9]", 3, "2001:db8:1::9");
	assert_client("2001:db8:ffff:1::1", "198.51.100.7", 3, "198.51.100.7");
	assert_client("127.0.0.1", "198.51.100.7", 3, "198.51.100.7");
}
END_TEST

START_TEST(chain_of_trusted_proxies)
{
	assert_client("10.0.0.1", "198.51.100.7, 10.0.0.2, 10.0.0.3", 3, "198.51.100.7");
	assert_client("10.0.0.1", "6.6.6.6, 198.51.100.7, 2001:db8:ffff::2, 10.0.0.3", 3,
		      "198.51.100.7");
	/* every hop trusted: the left-most one is as far as we can see */
	assert_client("10.0.0.1", "10.0.0.2, 10.0.0.3", 3, "10.0.0.2");
}
END_TEST

START_TEST(garbage_in_xff)
{
	/* a bad hop stops the walk at the last address we could vouch for */
	assert_client("10.0.0.1", "garbage", 3, "10.0.0.1");
	assert_client("10.0.0.1", "198.51.100.7, garbage", 3, "10.0.0.1");
	assert_client("10.0.0.1", "198.51.100.7, junk, 10.0.0.2", 3, "10.0.0.2");
	assert_client("10.0.0.1", "198.51.100.7:4711", 3, "10.0.0.1");
	assert_client("10.0.0.1", "fe80::1%eth0", 3, "10.0.0.1");
	assert_client("10.0.0.1", "unknown", 3, "10.0.0.1");
	assert_client("10.0.0.1", "", 3, "10.0.0.1");
	assert_client("10.0.0.1", ",", 3, "10.0.0.1");
	assert_client("10.0.0.1", "198.51.100.7,", 3, "10.0.0.1");
	assert_client("10.0.0.1", "\"198.51.100.7\"", 3, "10.0.0.1");
	/* garbage left of the answer does not matter */
	assert_client("10.0.0.1", "<script>, 198.51.100.7", 3, "198.51.100.7");
}
END_TEST

START_TEST(long_xff_header)
{
	size_t n = 2000, len = 0;
	char *xff = malloc(n * 16 + 32);

	ck_assert_ptr_nonnull(xff);
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(xff + len, "1.1.%zu.%zu, ", (i / 250) % 250, i % 250);
	strcpy(xff + len, "198.51.100.7");
	assert_client("10.0.0.1", xff, 3, "198.51.100.7");
	memset(xff, 'a', n * 16);
	xff[n * 16] = '\0';
	assert_client("10.0.0.1", xff, 3, "10.0.0.1");
	free(xff);
}
END_TEST

START_TEST(invalid_remote_addr)
{
	char out[LQOS_IP_STRLEN];

	ck_assert_int_eq(lqos_client_ip(NULL, NULL, proxies, 3, out), -1);
	ck_assert_int_eq(lqos_client_ip("", "198.51.100.7", proxies, 3, out), -1);
	ck_assert_int_eq(lqos_client_ip("bogus", "198.51.100.7", proxies, 3, out), -1);
}
END_TEST

static Suite *ipaddr_suite(void)
{
	Suite *s = suite_create("ipaddr");
	TCase *tc = tcase_create("canonical");

	tcase_add_test(tc, ipv4_canonical);
	tcase_add_test(tc, ipv6_spellings_collapse);
	tcase_add_test(tc, ipv4_mapped_becomes_ipv4);
	tcase_add_test(tc, bracketed_form);
	tcase_add_test(tc, junk_is_rejected);
	tcase_add_test(tc, leading_zeros_follow_inet_pton);
	tcase_add_test(tc, too_long_is_rejected);
	tcase_add_test(tc, loopback);
	suite_add_tcase(s, tc);

	tc = tcase_create("cidr");
	tcase_add_test(tc, cidr_parse_and_mask);
	tcase_add_test(tc, cidr_rejects);
	tcase_add_test(tc, cidr_contains_edges);
	tcase_add_test(tc, cidr_list);
	suite_add_tcase(s, tc);

	tc = tcase_create("client_ip");
	tcase_add_checked_fixture(tc, proxies_setup, NULL);
	tcase_add_test(tc, client_ip_without_proxies);
	tcase_add_test(tc, untrusted_peer_ignores_xff);
	tcase_add_test(tc, trusted_peer_takes_rightmost_untrusted);
	tcase_add_test(tc, chain_of_trusted_proxies);
	tcase_add_test(tc, garbage_in_xff);
	tcase_add_test(tc, long_xff_header);
	tcase_add_test(tc, invalid_remote_addr);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return lqos_test_run(ipaddr_suite());
}
