#include "webhook_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

#ifndef LQOS_FLUSHER_PATH
#define LQOS_FLUSHER_PATH "/usr/local/sbin/lqos-webhook-flush"
#endif

/* $LQOS_WEBHOOK_FLUSH (set by Apache's SetEnv) or the installed path. */
static const char *flusher_path(void)
{
	const char *env = getenv("LQOS_WEBHOOK_FLUSH");

	if (env == NULL || env[0] == '\0')
		env = getenv("REDIRECT_LQOS_WEBHOOK_FLUSH");
	return env != NULL && env[0] != '\0' ? env : LQOS_FLUSHER_PATH;
}

int lqos_flush_lock_path(const char *db_path, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s.flush.lock", db_path);

	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* mkdir -p (mode 0755) for the folder of the file `path`. */
static void make_parent_dirs(const char *path)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return;
		*p = '/';
	}
}

int lqos_flush_lock_open(const char *db_path)
{
	char path[4096];
	int fd;

	if (lqos_flush_lock_path(db_path, path, sizeof(path)) != 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0660);
	/* On PostgreSQL nothing else makes database_path's folder (SQLite
	 * makes it for the database file): make it here, so runs on one
	 * server never overlap and prompt delivery works on both back ends. */
	if (fd < 0 && errno == ENOENT) {
		make_parent_dirs(path);
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0660);
	}
	/* Never one of the standard descriptors the child replaces. */
	if (fd >= 0 && fd <= STDERR_FILENO) {
		int high = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
		close(fd);
		fd = high;
	}
	return fd;
}

/* In the detached grandchild: let go of the CGI's pipes so Apache
 * finishes the response now. A stderr pipe (mod_cgi) would hold the
 * request open, so it goes too; a file (mod_cgid: Apache's error log)
 * stays for the log lines. */
static void detach_stdio(void)
{
	struct stat st;
	int devnull = open("/dev/null", O_RDWR);

	if (devnull < 0)
		return;
	dup2(devnull, STDIN_FILENO);
	dup2(devnull, STDOUT_FILENO);
	if (fstat(STDERR_FILENO, &st) != 0 || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
		dup2(devnull, STDERR_FILENO);
	if (devnull > STDERR_FILENO)
		close(devnull);
}

void lqos_spawn_flusher(const char *db_path)
{
	const char *path = flusher_path();
	char fdarg[16];
	pid_t pid;
	int fd = lqos_flush_lock_open(db_path);

	if (fd < 0) {
		lqos_log("ISP telemetry: cannot open the webhook flusher's lock file for %s: %s "
			 "(cron will deliver)",
			 db_path, strerror(errno));
		return;
	}
	/* Held: a flusher is running, and it re-checks the queue after it
	 * releases the lock, so it sees the events committed before now. */
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		return;
	}
	/* The answer is still in stdio's buffer: when the client has gone,
	 * Apache has closed our stdout and flushing it would raise SIGPIPE,
	 * killing this process with the lock taken and no flusher started
	 * (the events would wait for cron). A failed write is harmless. */
	signal(SIGPIPE, SIG_IGN);
	fflush(NULL);
	pid = fork();
	if (pid != 0) {
		/* Parent: the child has the lock now (shared open file); reap
		 * the short-lived middle process and go on. */
		close(fd);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return;
	}
	setsid();
	if (fork() != 0)
		_exit(0);
	detach_stdio();
	/* The locked descriptor crosses exec: the flusher holds the lock
	 * from the moment this submission took it. */
	fcntl(fd, F_SETFD, 0);
	snprintf(fdarg, sizeof(fdarg), "%d", fd);
	execl(path, "lqos-webhook-flush", "--quiet", "--lock-fd", fdarg, (char *)NULL);
	fprintf(stderr,
		"ISP telemetry: cannot start %s for prompt webhook delivery: %s "
		"(cron will deliver)\n",
		path, strerror(errno));
	_exit(0);
}
