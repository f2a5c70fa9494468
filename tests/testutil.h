/* Shared helpers for the Check suites. */
#ifndef LQOS_TESTUTIL_H
#define LQOS_TESTUTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

/* A check that cannot run here (e.g. permissions as root) ends with this
 * instead of a bare return: it prints "SKIP: test: reason", and
 * scripts/summarize-tests.py counts it as skipped, not as one of the
 * passes Check reports for it. */
#define LQOS_SKIP_TEST(reason)                                                                     \
	do {                                                                                       \
		printf("SKIP: %s: %s\n", __func__, (reason));                                      \
		fflush(stdout);                                                                    \
		return;                                                                            \
	} while (0)

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
