-- Migration 3: the transactional outbox for webhooks and central forwarding.
-- A row is written in the same transaction as its test result and holds
-- the exact bytes to send; pruning test_results never touches it.
CREATE TABLE IF NOT EXISTS webhook_outbox (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL,              -- webhook-id: the test_id (random for central)
    target TEXT NOT NULL,                -- 'webhook' or 'central'
    url TEXT NOT NULL,                   -- where it was meant to go when written
    payload TEXT NOT NULL,               -- the exact body
    created_at INTEGER NOT NULL,         -- unix seconds
    state TEXT NOT NULL DEFAULT 'pending', -- pending, delivered, failed
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until INTEGER NOT NULL DEFAULT 0, -- a flusher holds it until then
    last_attempt_at INTEGER,
    last_status INTEGER,                 -- HTTP status of the last attempt
    last_error TEXT,
    delivered_at INTEGER,
    UNIQUE (target, event_id)
);
CREATE INDEX IF NOT EXISTS webhook_outbox_state ON webhook_outbox(state);
CREATE INDEX IF NOT EXISTS webhook_outbox_due ON webhook_outbox(state, next_attempt_at);
