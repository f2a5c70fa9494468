/* libFuzzer harness: a submission body in either accepted format. */
#include <stddef.h>
#include <stdint.h>

#include "libcommon/result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lqos_result r;
	char why[512];

	if (lqos_result_parse((const char *)data, size, &r, why, sizeof(why)) == 0) {
		json_t *g, *d;
		lqos_result_grade(&r);
		g = lqos_result_grades_json(&r);
		d = lqos_result_details_json(&r);
		json_decref(g);
		json_decref(d);
	}
	return 0;
}
