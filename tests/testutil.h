/* Shared helpers for the Check suites. */
#ifndef LQOS_TESTUTIL_H
#define LQOS_TESTUTIL_H

#include <check.h>
#include <stdlib.h>

/* Run one suite with CK_ENV verbosity; exit status for automake. */
static inline int lqos_test_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	if (srunner_ntests_run(sr) == 0)
		failed = 1; /* a suite that runs nothing must not pass */
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
