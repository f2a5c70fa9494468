-- Migration 1: the table exactly as the original LibreQoS implementation
-- created it (the guide's "Database Schema"). Databases made by that
-- implementation start here, at user_version 0, and are upgraded in place.
CREATE TABLE IF NOT EXISTS test_results (
    id INTEGER PRIMARY KEY,
    timestamp DATETIME,
    client_ip TEXT,
    user_agent TEXT,
    test_type TEXT,
    download_mbps REAL,
    upload_mbps REAL,
    baseline_latency_ms REAL,
    download_latency_increase_ms REAL,
    upload_latency_increase_ms REAL,
    bidirectional_latency_increase_ms REAL,
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
    test_server_name TEXT
);
