/* Prompt webhook delivery: start lqos-webhook-flush detached from the
 * CGI request, so the customer never waits on the portal, and only when
 * no flusher is running for the database (one delivery process at a
 * time: a running flusher re-checks the queue after it lets go of its
 * lock, so events that arrive while it works are delivered by it). */
#ifndef LQOS_WEBHOOK_SPAWN_H
#define LQOS_WEBHOOK_SPAWN_H

#include <stddef.h>

/* The flusher's lock file: "<database_path>.flush.lock". Returns 0, or
 * -1 when the path does not fit. */
int lqos_flush_lock_path(const char *db_path, char *out, size_t outlen);

/* Open (creating it, mode 0660, and its folder when missing) the lock
 * file; close-on-exec. Returns the fd or -1 (errno set). */
int lqos_flush_lock_open(const char *db_path);

/* Take the flusher's lock without waiting. When another flusher holds
 * it, return at once (that flusher delivers this submission's events).
 * Otherwise fork, detach (new session, stdin/stdout on /dev/null;
 * stderr kept when it is a file such as Apache's error log under
 * mod_cgid) and exec the flusher, handing it the locked fd
 * (--lock-fd), so no second flusher can start in between. The caller
 * must have committed its events, returns at once and must hold no open
 * SQLite connection. */
void lqos_spawn_flusher(const char *db_path);

#endif
