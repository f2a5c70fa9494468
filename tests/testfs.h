/* Temporary directories and files for the Check suites: each test gets a
 * fresh directory from mkdtemp (see tcase_add_checked_fixture) that is
 * removed afterwards, so no test sees another's files and nothing is
 * written into the source tree (make distcheck keeps it read-only). */
#ifndef LQOS_TESTFS_H
#define LQOS_TESTFS_H

#include <check.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef LQOS_SRCDIR
#define LQOS_SRCDIR "."
#endif

/* Room for a temporary directory's path: short, so that paths built
 * from it always fit in PATH_MAX. */
#define LQOS_TEST_DIRLEN 256

/* Make a new directory under $TMPDIR (or /tmp) into `out`. */
static inline void lqos_test_mkdtemp(char out[LQOS_TEST_DIRLEN])
{
	const char *base = getenv("TMPDIR");

	if (base == NULL || base[0] != '/' || strlen(base) > LQOS_TEST_DIRLEN - 32)
		base = "/tmp";
	snprintf(out, LQOS_TEST_DIRLEN, "%s/lqos-check-XXXXXX", base);
	ck_assert_msg(mkdtemp(out) != NULL, "mkdtemp(%s) failed", out);
}

static inline int lqos_test_rm_entry(const char *path, const struct stat *st, int flag,
				     struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	chmod(path, 0700); /* a test may have made it read-only */
	remove(path);
	return 0;
}

/* rm -rf `path` (no symlinks followed). */
static inline void lqos_test_rmtree(const char *path)
{
	if (path != NULL && path[0] == '/')
		nftw(path, lqos_test_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write `content` to dir/name and return the path (static buffer reused
 * by the next call). */
static inline const char *lqos_test_write(const char *dir, const char *name, const char *content)
{
	static char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_msg(f != NULL, "cannot write %s", path);
	fputs(content, f);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

/* The whole of tests/fixtures/<name> from the source tree, NUL
 * terminated. Caller frees. */
static inline char *lqos_test_fixture(const char *name, size_t *len)
{
	char path[PATH_MAX];
	FILE *f;
	char *buf;
	long size;

	snprintf(path, sizeof(path), "%s/tests/fixtures/%s", LQOS_SRCDIR, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "fixture %s is missing", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	ck_assert_int_ge(size, 0);
	rewind(f);
	buf = malloc((size_t)size + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
	buf[size] = '\0';
	fclose(f);
	if (len != NULL)
		*len = (size_t)size;
	return buf;
}

#endif
