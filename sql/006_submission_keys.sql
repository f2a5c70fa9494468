-- Migration 6: idempotency keys of submissions. The test page sends a
-- random Idempotency-Key with each result and retries on network errors
-- and 5xx; a repeat of a stored submission is answered from here (same
-- test_id and timestamp) instead of storing a second row. Scoped by
-- client address so that one client's key never reveals another's test;
-- request_sha256 refuses a key reused for a different body. Rows older
-- than a day are deleted by the insert that follows (index on created_at).
CREATE TABLE IF NOT EXISTS submission_keys (
    idem_key TEXT NOT NULL,
    client_ip TEXT NOT NULL,             -- canonical, as in test_results
    client_ip_bin BLOB,                  -- for erasure by prefix
    request_sha256 TEXT NOT NULL,        -- hex SHA-256 of the request body
    test_id TEXT NOT NULL,
    timestamp TEXT NOT NULL,             -- the stored row's timestamp
    created_at INTEGER NOT NULL,         -- unix seconds
    UNIQUE (idem_key, client_ip)
);
CREATE INDEX IF NOT EXISTS submission_keys_created ON submission_keys(created_at);
CREATE INDEX IF NOT EXISTS submission_keys_client_ip_bin ON submission_keys(client_ip_bin);
