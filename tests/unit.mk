# Check unit suites: tests/check_<module>.c, one binary per TESTS entry.
UNIT_TESTS = \
	tests/check_load \
	tests/check_grade
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
EXTRA_DIST += tests/testutil.h

tests_check_grade_SOURCES = tests/check_grade.c
tests_check_grade_CFLAGS = $(TEST_CFLAGS)
tests_check_grade_LDADD = $(TEST_LIBS)

tests_check_load_SOURCES = tests/check_load.c
tests_check_load_CFLAGS = $(TEST_CFLAGS)
tests_check_load_LDADD = $(TEST_LIBS)
