#!/bin/sh
# tests/support_api.py against PostgreSQL: the suite starts a private server
# (tests/backend.py, tests/pgserver.py) and skips, with the reason,
# when PostgreSQL is not installed.
LQOS_TEST_BACKEND=pg
export LQOS_TEST_BACKEND
exec "${PYTHON3:-python3}" "${LQOS_SRCDIR:-$(dirname "$0")/../..}/tests/support_api.py" "$@"
