-- Migration 2: what this project adds to the guide's table.
ALTER TABLE test_results ADD COLUMN test_id TEXT;
ALTER TABLE test_results ADD COLUMN test_duration_seconds REAL;
-- The full measurement summary the server graded, as JSON text.
ALTER TABLE test_results ADD COLUMN details_json TEXT;
-- Rows from the original implementation get an id that cannot collide
-- with the isp_<seconds>_<n> ids made from now on.
UPDATE test_results SET test_id = 'isp_legacy_' || id WHERE test_id IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS test_results_test_id ON test_results(test_id);
CREATE INDEX IF NOT EXISTS test_results_client_ip ON test_results(client_ip, timestamp);
CREATE INDEX IF NOT EXISTS test_results_timestamp ON test_results(timestamp);
-- Small key/value state: the last effective configuration that was logged.
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
