-- Migration 5: the number of stored results, kept exact by triggers (also
-- when rows are deleted by hand or by lqos tools), so that retention deletes
-- just the rows over max_stored_tests, oldest first: constant cost per
-- insert whatever max_stored_tests and the ids are.
CREATE TABLE IF NOT EXISTS test_results_count (n INTEGER NOT NULL);
DELETE FROM test_results_count;
INSERT INTO test_results_count (n) SELECT count(*) FROM test_results;
CREATE TRIGGER IF NOT EXISTS test_results_count_insert AFTER INSERT ON test_results
BEGIN
    UPDATE test_results_count SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS test_results_count_delete AFTER DELETE ON test_results
BEGIN
    UPDATE test_results_count SET n = n - 1;
END;
