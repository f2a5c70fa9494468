# Black-box and Apache integration tests (Python 3, standard library only).

# Webhook delivery end to end: receiver, flusher, prompt delivery through Apache (issue 3)
TESTS += tests/webhook_integration.py
EXTRA_DIST += tests/webhook_integration.py

# Prompt delivery under 64 concurrent submitters for 10 s (issue 11): at
# most 3 delivery processes alive, each event exactly once, median
# submission-to-delivery <= 2 s
TESTS += tests/webhook_burst.py
EXTRA_DIST += tests/webhook_burst.py bench/api-cost bench/trivial.c

# lqos-telemetry-check against good and broken installs (issue 5)
TESTS += tests/operator_check.py
EXTRA_DIST += tests/operator_check.py

# The CGI programs as plain processes (black box): every endpoint and error
TESTS += tests/cgi_blackbox.py
EXTRA_DIST += tests/cgi_blackbox.py

# Through a real Apache with mod_cgid: every endpoint and error status, the
# guide's curl | jq examples, log lines, retention, 64 concurrent submitters,
# and the shared-hosting .htaccess variant
TESTS += tests/apache_integration.py
EXTRA_DIST += tests/apache_integration.py

# Support API additions through a real Apache: grade/test_type/since/until
# filters, customer prefixes, CSV export, /test/<id>, /metrics (issue 5)
TESTS += tests/support_api.py
EXTRA_DIST += tests/support_api.py tests/support_seed.py

# The support dashboard (htdocs/support/) in headless Chromium (issue 5)
TESTS += tests/support_dashboard.py
EXTRA_DIST += tests/support_dashboard.py tests/browser/support-dashboard.mjs

# networkQuality / RPM server (issue 9): /.well-known/nq over https+h2 and
# every URL it names checked against the draft's requirements
TESTS += tests/nq_test.py
EXTRA_DIST += tests/nq_test.py

# The bufferbloat test page in headless Chromium: both modes, desktop and
# phone; the grades shown are the grades stored; probes never wait behind
# load in the browser's connection pool; then over https with HTTP/2 (the
# protocol recorded must be h2)
TESTS += tests/browser_test.py
# The accuracy harness on the 50 Mbit/s pair (root, netns, tc tbf; else skip)
TESTS += tests/accuracy.sh
# Its delay line (a TUN device that holds each packet for a fixed time)
noinst_PROGRAMS += bench/lqos-delayline
bench_lqos_delayline_SOURCES = bench/delayline.c
bench_lqos_delayline_LDADD = -lm
EXTRA_DIST += tests/browser_test.py tests/accuracy.sh tests/browser/harness.py \
	tests/browser/chromium.mjs tests/browser/run-test.mjs tests/browser/load-figures.mjs tests/browser/package.json tests/browser/package-lock.json \
	bench/accuracy bench/load-endpoints

# Hardening (issue 6): hostile input through Apache; real faults under the
# store (read-only, disk full, deleted/garbage database, held lock, broken
# config, SIGKILLed submitters); a 5-second wrk load smoke (bench/load)
TESTS += tests/hostile_input.py tests/faults.py tests/load_smoke.py
EXTRA_DIST += tests/hostile_input.py tests/faults.py tests/load_smoke.py tests/lqostest.py \
	bench/load bench/hardening-summary

# Customers' data requests (issue 10): lqos-telemetry-erase by address and
# prefix against a database filled through a real Apache
TESTS += tests/data_requests.py
EXTRA_DIST += tests/data_requests.py

# A submission stored once however often it is sent (issue 10):
# Idempotency-Key repeats, a lost answer, a 503 then success
TESTS += tests/submit_retry.py
EXTRA_DIST += tests/submit_retry.py

# The page retries a failed submission (lost answer, 503 + Retry-After)
# in headless Chromium, and the result is stored once (issue 10)
TESTS += tests/browser_retry.py
EXTRA_DIST += tests/browser_retry.py tests/browser/submit-retry.mjs

# The PostgreSQL back end with real servers (issue 12): a private PostgreSQL
# and PgBouncer started by the test; two Apaches on one database, two
# flushers, restart under load, credentials, lqos-telemetry-migrate
TESTS += tests/pg_integration.py
EXTRA_DIST += tests/pg_integration.py tests/pgserver.py bench/api-cost-pg

# The same suites again against PostgreSQL (issue 12): each tests/pg/NAME.sh
# runs tests/NAME.py with LQOS_TEST_BACKEND=pg, which starts a private
# PostgreSQL for the suite (tests/backend.py; SKIP with the reason when
# postgresql is not installed). Their SQLite runs are the entries above.
PG_SUITES = tests/pg/cgi_blackbox.sh tests/pg/apache_integration.sh tests/pg/support_api.sh \
	tests/pg/webhook_integration.sh tests/pg/hostile_input.sh tests/pg/data_requests.sh \
	tests/pg/submit_retry.sh tests/pg/faults.sh tests/pg/support_dashboard.sh
TESTS += $(PG_SUITES)
EXTRA_DIST += $(PG_SUITES) tests/backend.py
