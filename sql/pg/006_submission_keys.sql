-- PostgreSQL twin of sql/006_submission_keys.sql: idempotency keys of
-- submissions, scoped by client address, kept a day.
CREATE TABLE IF NOT EXISTS submission_keys (
    idem_key TEXT NOT NULL,
    client_ip TEXT NOT NULL,
    client_ip_bin BYTEA,
    request_sha256 TEXT NOT NULL,
    test_id TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (idem_key, client_ip)
);
CREATE INDEX IF NOT EXISTS submission_keys_created ON submission_keys(created_at);
CREATE INDEX IF NOT EXISTS submission_keys_client_ip_bin ON submission_keys(client_ip_bin);
