/* libFuzzer harness: addresses, CIDR lists and X-Forwarded-For chains. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libcommon/ipaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lqos_cidr nets[8], one;
	char out[LQOS_IP_STRLEN];
	char *text = malloc(size + 1);
	int n;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	lqos_ip_canonical(text, out);
	lqos_ip_is_loopback(text);
	if (lqos_cidr_parse(text, &one) == 0)
		lqos_cidr_contains(&one, "192.0.2.1");
	n = lqos_cidr_parse_list(text, nets, 8, NULL, 0);
	lqos_client_ip("127.0.0.1", text, nets, n > 0 ? (size_t)n : 0, out);
	free(text);
	return 0;
}
