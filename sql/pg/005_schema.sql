-- PostgreSQL: the whole schema as of SQLite migration 5 (the two stay
-- numbered alike: a later sql/NNN_x.sql gets its sql/pg/NNN_x.sql twin).
-- Same tables, columns and meaning as sql/001..005; timestamps stay ISO
-- text so that both back ends compare and serve them the same way.
CREATE TABLE IF NOT EXISTS test_results (
    id BIGINT PRIMARY KEY,
    timestamp TEXT,
    client_ip TEXT,
    user_agent TEXT,
    test_type TEXT,
    download_mbps DOUBLE PRECISION,
    upload_mbps DOUBLE PRECISION,
    baseline_latency_ms DOUBLE PRECISION,
    download_latency_increase_ms DOUBLE PRECISION,
    upload_latency_increase_ms DOUBLE PRECISION,
    bidirectional_latency_increase_ms DOUBLE PRECISION,
    single_user_score INTEGER,
    download_grade TEXT,
    upload_grade TEXT,
    bidirectional_grade TEXT,
    overall_grade TEXT,
    household_score INTEGER,
    alex_grade TEXT,
    sarah_grade TEXT,
    jake_grade TEXT,
    computer_grade TEXT,
    test_server_name TEXT,
    test_id TEXT,
    test_duration_seconds DOUBLE PRECISION,
    details_json TEXT,
    -- family byte then the address bytes: a customer prefix is one range
    -- on this column's btree index (the same on SQLite).
    client_ip_bin BYTEA
);
-- One sequence for every server sharing the database.
CREATE SEQUENCE IF NOT EXISTS test_results_id_seq OWNED BY test_results.id;
CREATE UNIQUE INDEX IF NOT EXISTS test_results_test_id ON test_results(test_id);
CREATE INDEX IF NOT EXISTS test_results_client_ip ON test_results(client_ip, timestamp);
CREATE INDEX IF NOT EXISTS test_results_timestamp ON test_results(timestamp);
CREATE INDEX IF NOT EXISTS test_results_client_ip_bin ON test_results(client_ip_bin);

CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS webhook_outbox (
    id BIGSERIAL PRIMARY KEY,
    event_id TEXT NOT NULL,
    target TEXT NOT NULL,
    url TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT NOT NULL DEFAULT 0,
    last_attempt_at BIGINT,
    last_status INTEGER,
    last_error TEXT,
    delivered_at BIGINT,
    UNIQUE (target, event_id)
);
CREATE INDEX IF NOT EXISTS webhook_outbox_state ON webhook_outbox(state);
CREATE INDEX IF NOT EXISTS webhook_outbox_due ON webhook_outbox(state, next_attempt_at);

-- The number of stored results, kept by statement-level triggers, so that
-- retention deletes just the rows over max_stored_tests. Every insert
-- updates this one row, so inserts from all servers serialise here and
-- max_stored_tests holds across them.
CREATE TABLE IF NOT EXISTS test_results_count (n BIGINT NOT NULL);
DELETE FROM test_results_count;
INSERT INTO test_results_count (n) SELECT count(*) FROM test_results;
CREATE OR REPLACE FUNCTION lqos_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE test_results_count SET n = n + (SELECT count(*) FROM new_rows);
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION lqos_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE test_results_count SET n = n - (SELECT count(*) FROM old_rows);
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS test_results_count_insert ON test_results;
CREATE TRIGGER test_results_count_insert AFTER INSERT ON test_results
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION lqos_count_inserted();
DROP TRIGGER IF EXISTS test_results_count_delete ON test_results;
CREATE TRIGGER test_results_count_delete AFTER DELETE ON test_results
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION lqos_count_deleted();
