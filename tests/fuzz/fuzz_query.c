/* libFuzzer harness: query strings, path info, API-key headers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libcommon/auth.h"
#include "libcommon/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lqos_config cfg = {0};
	struct lqos_request req = {0};
	char value[256], key[] = "fuzz-key";
	char *text = malloc(size + 1);
	long l;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	lqos_query_get(text, "limit", value, sizeof(value));
	lqos_query_get(text, "api_key", value, sizeof(value));
	lqos_parse_long(text, 1, 1000, &l);
	free(lqos_text_clean(text, 128));
	cfg.telemetry_api_key = key;
	cfg.allow_query_api_key = true;
	req.query = text;
	req.authorization = text;
	req.x_api_key = text;
	lqos_auth_check(&cfg, &req, "203.0.113.1");
	free(text);
	return 0;
}
