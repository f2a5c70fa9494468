-- Migration 4: the client address as a sortable blob (family byte, then
-- the address bytes) so support staff can look customers up by prefix:
-- IPv6 customers move around inside their delegated prefix.
-- lqos_ip_blob() is registered by the program before migrations run.
ALTER TABLE test_results ADD COLUMN client_ip_bin BLOB;
UPDATE test_results SET client_ip_bin = lqos_ip_blob(client_ip);
CREATE INDEX IF NOT EXISTS test_results_client_ip_bin ON test_results(client_ip_bin);
