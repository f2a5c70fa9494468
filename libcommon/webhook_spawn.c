#include "webhook_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

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

void lqos_spawn_flusher(void)
{
	const char *path = flusher_path();
	struct stat st;
	pid_t pid;
	int devnull;

	fflush(NULL);
	pid = fork();
	if (pid != 0) {
		/* Parent: reap the short-lived middle process and go on. */
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return;
	}
	setsid();
	if (fork() != 0)
		_exit(0);
	/* Let go of the CGI's pipes so Apache finishes the response now. A
	 * stderr pipe (mod_cgi) would hold the request open, so it goes too;
	 * a file (mod_cgid: Apache's error log) stays for the log lines. */
	devnull = open("/dev/null", O_RDWR);
	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
		if (fstat(STDERR_FILENO, &st) != 0 || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
			dup2(devnull, STDERR_FILENO);
		if (devnull > STDERR_FILENO)
			close(devnull);
	}
	execl(path, "lqos-webhook-flush", "--quiet", "--wait-lock", "3000", (char *)NULL);
	fprintf(stderr,
		"ISP telemetry: cannot start %s for prompt webhook delivery: %s "
		"(cron will deliver)\n",
		path, strerror(errno));
	_exit(0);
}
