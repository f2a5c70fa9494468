/* Prompt webhook delivery: start lqos-webhook-flush detached from the
 * CGI request, so the customer never waits on the portal. */
#ifndef LQOS_WEBHOOK_SPAWN_H
#define LQOS_WEBHOOK_SPAWN_H

/* Fork, detach (new session, stdin/stdout on /dev/null; stderr kept
 * when it is a file such as Apache's error log under mod_cgid) and exec
 * the flusher, which waits briefly for a running flusher's lock. The
 * caller returns at once and must hold no open SQLite connection. */
void lqos_spawn_flusher(void);

#endif
