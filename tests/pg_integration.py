#!/usr/bin/env python3
"""The PostgreSQL back end with real servers (issue 12): a private
PostgreSQL started here (initdb as an unprivileged user, its own socket
folder and loopback port, stopped by its pid), PgBouncer in transaction
pooling mode the same way, and private Apaches with mod_cgid.

  - migrations: many first requests at once migrate once (advisory lock)
  - two test servers (server_name pop-north / pop-south) on one database:
    each shows both servers' tests (recent, customer, one-test view,
    stats, metrics), ids unique, retention across both
  - two flushers on one outbox: every event delivered exactly once; a
    SIGKILLed flusher's lease expires and another delivers its events
  - PostgreSQL stopped and started under load: every 200 is stored, the
    others are 503 with Retry-After and the grades, service resumes alone
  - wrong password / password in database_url: clear messages in the
    error log, stats and lqos-telemetry-check; never the password
  - through PgBouncer (transaction pooling): submissions, queries, flusher

The suites that run on both back ends (support API, webhooks, hostile
input, ...) have PostgreSQL runs of their own: tests/pg/*.sh
(LQOS_TEST_BACKEND=pg, tests/backend.py).

Skips (SKIP: reason) when PostgreSQL or Apache is not installed.
Environment: LQOS_SRCDIR, LQOS_BUILDDIR (set by make check).
"""
import concurrent.futures
import http.server
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lqostest as lq  # noqa: E402
import pgserver  # noqa: E402
from lqostest import BUILDDIR, SRCDIR, check  # noqa: E402

FLUSH = os.path.join(BUILDDIR, "sbin", "lqos-webhook-flush")
CHECK = os.path.join(BUILDDIR, "sbin", "lqos-telemetry-check")
API_KEY = "pg-test-key-0123456789abcdef"


class Receiver:
    """A portal on 127.0.0.1 recording every delivery's webhook-id. With
    hang=True it accepts and never answers (a flusher stuck mid-delivery)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ids = []
        self.hang = False
        self.stop = threading.Event()
        recv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, fmt, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(n)
                if recv.hang:
                    recv.stop.wait(60)
                    self.close_connection = True
                    return
                with recv.lock:
                    recv.ids.append(self.headers.get("webhook-id"))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self):
        return "http://127.0.0.1:%d/hook" % self.port

    def close(self):
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


def conf_text(url, state, **keys):
    lines = ['database_url="%s"' % url, 'database_path="%s/isp_telemetry.db"' % state,
             'telemetry_api_key="%s"' % API_KEY, 'max_tests_per_ip_per_hour="0"',
             'webhook_prompt_delivery="false"']
    lines += ['%s="%s"' % (k, v) for k, v in keys.items()]
    return "\n".join(lines) + "\n"


def auth():
    return {"Authorization": "Bearer " + API_KEY}


def submit(server, i, body=None):
    payload = body or lq.native_single(dl_inc=2.0 + i % 50)
    # No server name in the result: the server's own (server_name) is stored.
    payload.pop("server_name", None)
    return server.request("POST", "/api/telemetry", body=json.dumps(payload).encode(),
                          headers={"Content-Type": "application/json",
                                   "X-Forwarded-For": "198.51.100.%d" % (i % 250 + 1)})


def jdoc(r):
    try:
        return json.loads(r.body.decode())
    except ValueError:
        return None


def write_conf_file(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)


def t_migrate_once(pg, base):
    url = pg.new_database("migrate_once")
    server = lq.PrivateApache(base, rundir=os.path.join(base, "mig"))
    server.start(conf_text(url, os.path.join(server.rundir, "state")))
    try:
        with concurrent.futures.ThreadPoolExecutor(12) as ex:
            rs = list(ex.map(lambda i: server.get("/api/telemetry/stats", headers=auth()), range(24)))
        check("migrate: 24 concurrent first requests all answer 200",
              all(r.status == 200 for r in rs), [r.status for r in rs])
        latest = str(max(int(f[:3]) for f in os.listdir(os.path.join(SRCDIR, "sql", "pg")) if f[:3].isdigit()))
        rows = pg.psql("migrate_once", "SELECT version FROM lqos_schema_version").split()
        check("migrate: the schema version is recorded once", rows == [latest], (rows, latest))
        idx = pg.psql("migrate_once", "EXPLAIN SELECT id FROM test_results WHERE client_ip_bin "
                      "BETWEEN '\\x04c6336400'::bytea AND '\\x04c63364ff'::bytea")
        check("migrate: the customer prefix lookup can use the client_ip_bin index",
              "test_results_client_ip_bin" in idx, idx)
    finally:
        server.stop()


def t_two_servers(pg, base, recv):
    url = pg.new_database("two_servers")
    north = lq.PrivateApache(base, rundir=os.path.join(base, "north"))
    south = lq.PrivateApache(base, rundir=os.path.join(base, "south"))
    confs = {}
    for s, name in ((north, "pop-north"), (south, "pop-south")):
        text = conf_text(url, os.path.join(s.rundir, "state"), server_name=name, webhook_url=recv.url(),
                         trusted_proxies="127.0.0.1")
        s.start(text)
        confs[name] = s.conf
    try:
        ids = []
        for i in range(30):
            for s in (north, south):
                r = submit(s, i if s is north else i + 100)
                d = jdoc(r)
                if r.status == 200 and d:
                    ids.append(d["test_id"])
        check("two servers: 60 submissions stored", len(ids) == 60, len(ids))
        check("two servers: test ids unique across servers", len(set(ids)) == 60, len(set(ids)))
        check("two servers: ids keep the shape isp_<digits>_<digits>",
              all(re.match(r"^isp_\d+_\d+$", t) for t in ids), ids[:3])
        for s, other in ((north, "pop-south"), (south, "pop-north")):
            r = s.get("/api/telemetry/recent?limit=100", headers=auth())
            d = jdoc(r) or {}
            names = {t.get("test_server_name") for t in d.get("tests", [])}
            check("two servers: /recent on one shows both servers' tests",
                  r.status == 200 and d.get("total") == 60 and names == {"pop-north", "pop-south"},
                  (r.status, d.get("total"), names))
            r = s.get("/api/telemetry/customer/198.51.100.0/24?limit=100", headers=auth())
            d = jdoc(r) or {}
            check("two servers: a customer prefix finds tests from the other server",
                  r.status == 200 and d.get("total_tests") == 60
                  and any(t.get("test_server_name") == other for t in d.get("tests", [])),
                  (r.status, d.get("total_tests")))
        r = north.get("/api/telemetry/test/" + ids[1], headers=auth())
        d = jdoc(r) or {}
        check("two servers: one-test view of the other server's test",
              r.status == 200 and (d.get("test") or {}).get("test_server_name") == "pop-south",
              r.body[:300])
        r = south.get("/api/telemetry/recent?format=csv&limit=5&grade=A%2B,A,B,C,D,F", headers=auth())
        check("two servers: CSV export answers from PostgreSQL",
              r.status == 200 and r.body.decode().startswith("id,test_id,"), r.body[:200])
        r = north.get("/api/telemetry/stats", headers=auth())
        d = jdoc(r) or {}
        check("two servers: stats counts both servers and names the database without secrets",
              r.status == 200 and d.get("total_tests_stored") == 60 and d.get("database") == "postgresql"
              and pgserver.PASSWORD not in r.body.decode(), r.body[:400])
        r = south.get("/api/telemetry/metrics", headers=auth())
        check("two servers: metrics from PostgreSQL",
              r.status == 200 and "lqos_tests_stored" in r.body.decode(), r.body[:200])

        # Two flushers, one outbox: each event delivered exactly once.
        procs = [subprocess.Popen([FLUSH, "--config", confs[n], "--quiet"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE) for n in ("pop-north", "pop-south")]
        outs = [p.communicate(timeout=120) for p in procs]
        check("two flushers: both exit 0", all(p.returncode == 0 for p in procs), outs)
        with recv.lock:
            got = list(recv.ids)
        check("two flushers: every event delivered exactly once",
              sorted(got) == sorted(ids), (len(got), len(set(got))))
        left = pg.psql("two_servers", "SELECT count(*) FROM webhook_outbox WHERE state <> 'delivered'").strip()
        check("two flushers: nothing left pending", left == "0", left)

        # Retention across servers: max_stored_tests counts all of them.
        for s, name in ((north, "pop-north"), (south, "pop-south")):
            write_conf_file(s.conf, conf_text(url, os.path.join(s.rundir, "state"), server_name=name,
                                              trusted_proxies="127.0.0.1", max_stored_tests="25"))
        newest = []
        for i in range(10):
            for s in (north, south):
                d = jdoc(submit(s, 200 + i)) or {}
                newest.append(d.get("test_id"))
        stored = pg.psql("two_servers", "SELECT test_id FROM test_results ORDER BY id").split()
        check("retention: max_stored_tests=25 holds across both servers", len(stored) == 25, len(stored))
        check("retention: the 20 newest (from both servers) are kept",
              set(newest) <= set(stored), len(set(newest) & set(stored)))
        count = pg.psql("two_servers", "SELECT n FROM test_results_count").strip()
        check("retention: the trigger-kept row count matches", count == "25", count)
    finally:
        north.stop()
        south.stop()


def t_rate_limit(pg, base):
    """max_tests_per_ip_per_hour counts one address's tests on every server."""
    url = pg.new_database("ratelimit")
    servers = [lq.PrivateApache(base, rundir=os.path.join(base, "rl-%d" % k)) for k in range(2)]
    for k, s in enumerate(servers):
        text = conf_text(url, os.path.join(s.rundir, "state"), server_name="pop-%d" % k,
                         trusted_proxies="127.0.0.1")
        s.start(text.replace('max_tests_per_ip_per_hour="0"', 'max_tests_per_ip_per_hour="3"'))
    try:
        statuses = [submit(servers[i % 2], 7).status for i in range(3)]
        r = submit(servers[1], 7)
        check("rate limit: the limit counts the address's tests on both servers",
              statuses == [200, 200, 200] and r.status == 429 and r.header("Retry-After"),
              (statuses, r.status, r.body[:200]))
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            rs = list(ex.map(lambda i: submit(servers[i % 2], 8), range(12)))
        check("rate limit: 12 concurrent submissions from one address on two servers store exactly 3",
              sorted(x.status for x in rs) == [200] * 3 + [429] * 9, sorted(x.status for x in rs))
    finally:
        for s in servers:
            s.stop()


def t_keys_and_erase(pg, base):
    """Idempotency keys across two servers, and lqos-telemetry-erase, on
    PostgreSQL."""
    url = pg.new_database("keys")
    recv_url = "http://127.0.0.1:9/hook"
    servers = [lq.PrivateApache(base, rundir=os.path.join(base, "keys-%d" % k)) for k in range(2)]
    for k, s in enumerate(servers):
        s.start(conf_text(url, os.path.join(s.rundir, "state"), server_name="pop-%d" % k,
                          trusted_proxies="127.0.0.1", webhook_url=recv_url))
    erase = os.path.join(BUILDDIR, "sbin", "lqos-telemetry-erase")
    try:
        body = json.dumps(dict(lq.native_single(), server_name="x")).encode()
        hdr = {"Content-Type": "application/json", "X-Forwarded-For": "203.0.113.9",
               "Idempotency-Key": "pg-key-0123456789abcdef"}
        a = servers[0].request("POST", "/api/telemetry", body=body, headers=hdr)
        b = servers[1].request("POST", "/api/telemetry", body=body, headers=hdr)
        da, db_ = jdoc(a) or {}, jdoc(b) or {}
        n = pg.psql("keys", "SELECT count(*) FROM test_results").strip()
        check("keys: a repeat on the other server answers the first test_id, one row stored",
              a.status == 200 and b.status == 200 and da.get("test_id") == db_.get("test_id") and n == "1",
              (a.status, b.status, da.get("test_id"), db_.get("test_id"), n))
        for i in range(3):
            submit(servers[i % 2], 40)   # 198.51.100.41
        p = subprocess.run([erase, "--config", servers[0].conf, "--dry-run", "203.0.113.0/24"],
                           capture_output=True, text=True, timeout=60)
        check("erase: dry run counts the test, its webhook event and its key on PostgreSQL",
              p.returncode == 0 and "1 stored tests, 1 undelivered webhook events" in p.stdout
              and "1 idempotency keys" in p.stdout,
              p.stdout + p.stderr)
        p = subprocess.run([erase, "--config", servers[1].conf, "203.0.113.9"],
                           capture_output=True, text=True, timeout=60)
        left = pg.psql("keys", "SELECT (SELECT count(*) FROM test_results WHERE client_ip = '203.0.113.9'), "
                       "(SELECT count(*) FROM webhook_outbox WHERE payload LIKE '%203.0.113.9%'), "
                       "(SELECT count(*) FROM submission_keys), (SELECT count(*) FROM test_results), "
                       "(SELECT n FROM test_results_count)").strip()
        check("erase: the address's test, event and key are gone, the others kept, counts exact",
              p.returncode == 0 and left == "0|0|0|3|3", (left, p.stdout, p.stderr))
    finally:
        for s in servers:
            s.stop()


def t_killed_flusher(pg, base):
    url = pg.new_database("lease")
    recv = Receiver()
    recv.hang = True
    server = lq.PrivateApache(base, rundir=os.path.join(base, "lease"))
    text = conf_text(url, os.path.join(server.rundir, "state"), webhook_url=recv.url(),
                     webhook_timeout="20", webhook_connect_timeout="5")
    server.start(text)
    try:
        ids = [(jdoc(submit(server, i)) or {}).get("test_id") for i in range(3)]
        p = subprocess.Popen([FLUSH, "--config", server.conf, "--quiet"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        leased = "0"
        while time.monotonic() < deadline:
            leased = pg.psql("lease", "SELECT count(*) FROM webhook_outbox WHERE lease_until > 0").strip()
            if leased != "0":
                break
            time.sleep(0.1)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
        check("lease: the first flusher held leases when killed", leased != "0", leased)
        recv.hang = False
        rc = subprocess.run([FLUSH, "--config", server.conf, "--quiet"], capture_output=True, timeout=60)
        with recv.lock:
            early = list(recv.ids)
        check("lease: another flusher does not take events under a live lease",
              not (set(early) & set(ids[:1])) or leased == "0", early)
        # The lease is connect + total timeout + 30 s: run as if that had passed.
        later = int(time.time()) + 5 + 20 + 31
        rc = subprocess.run([FLUSH, "--config", server.conf, "--quiet", "--now", str(later)],
                            capture_output=True, timeout=60)
        with recv.lock:
            got = list(recv.ids)
        check("lease: after the lease expires another flusher delivers every event once",
              rc.returncode == 0 and sorted(got) == sorted(ids), (rc.returncode, got, ids))
    finally:
        server.stop()
        recv.close()


def t_restart_under_load(pg, base):
    url = pg.new_database("restart")
    server = lq.PrivateApache(base, rundir=os.path.join(base, "restart"))
    server.start(conf_text(url, os.path.join(server.rundir, "state"), trusted_proxies="127.0.0.1"))
    results = []
    stop = threading.Event()

    def worker(k):
        i = 0
        while not stop.is_set():
            r = submit(server, k * 1000 + i)
            results.append((r.status, r.header("Retry-After"), jdoc(r)))
            i += 1

    try:
        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            futs = [ex.submit(worker, k) for k in range(4)]
            time.sleep(2)
            pg.stop_server()
            time.sleep(2)
            pg.restart_server()
            time.sleep(3)
            stop.set()
            for f in futs:
                f.result()
        ok = [d["test_id"] for s, _, d in results if s == 200 and d]
        bad = [(s, ra, d) for s, ra, d in results if s != 200]
        stored = set(pg.psql("restart", "SELECT test_id FROM test_results").split())
        check("restart: some submissions failed while PostgreSQL was down", len(bad) > 0, len(bad))
        check("restart: every 200 answer is stored", set(ok) <= stored,
              (len(ok), len(set(ok) - stored)))
        check("restart: failures are 503 with Retry-After and the grades",
              all(s == 503 and ra and d and d.get("success") is False and "grades" in d for s, ra, d in bad),
              bad[:2])
        r = submit(server, 9999)
        check("restart: service resumes by itself", r.status == 200, r.status)
        log = server.log_since(0)
        check("restart: the outage is explained in the error log",
              "PostgreSQL" in log and pgserver.PASSWORD not in log, log[-600:])
    finally:
        stop.set()
        server.stop()


def t_wrong_credentials(pg, base):
    pg.new_database("creds")
    bad = os.path.join(pg.dir, "wrong.pgpass")
    with open(bad, "w") as f:
        f.write("*:*:*:lqos:not-the-password\n")
    os.chmod(bad, 0o600)
    if os.getuid() == 0:
        import pwd
        www = pwd.getpwnam("www-data")
        os.chown(bad, www.pw_uid, www.pw_gid)
    server = lq.PrivateApache(base, rundir=os.path.join(base, "creds"))
    server.start(conf_text(pg.url("creds", passfile=bad), os.path.join(base, "creds", "state")))
    try:
        r = submit(server, 1)
        d = jdoc(r) or {}
        check("wrong password: submission 503 with Retry-After and the grades",
              r.status == 503 and r.header("Retry-After") and "grades" in d, (r.status, r.body[:300]))
        r = server.get("/api/telemetry/stats", headers=auth())
        check("wrong password: stats 503 with the reason",
              r.status == 503 and "password authentication failed" in r.body.decode(), r.body[:400])
        log = server.log_since(0)
        check("wrong password: a clear message in the error log",
              "password authentication failed" in log and "not-the-password" not in log, log[-500:])
        p = subprocess.run([CHECK, "--config", server.conf, "--web-user", "www-data"],
                           capture_output=True, text=True, timeout=60)
        check("wrong password: lqos-telemetry-check fails the database check",
              p.returncode == 1 and "[FAIL] database" in p.stdout
              and "password authentication failed" in p.stdout, p.stdout[-800:])
        # A password written into database_url is refused as a config error.
        write_conf_file(server.conf, conf_text("postgresql://lqos:hunter2secret@127.0.0.1/creds",
                                               os.path.join(base, "creds", "state")))
        r = server.get("/api/telemetry/stats", headers=auth())
        check("password in database_url: refused (503) and never shown",
              r.status == 503 and "passfile" in r.body.decode() and "hunter2secret" not in r.body.decode(),
              r.body[:400])
        p = subprocess.run([CHECK, "--config", server.conf], capture_output=True, text=True, timeout=60)
        check("password in database_url: lqos-telemetry-check says so, without the password",
              p.returncode == 1 and "passfile" in p.stdout and "hunter2secret" not in p.stdout, p.stdout[-600:])
        good = conf_text(pg.url("creds"), os.path.join(base, "creds", "state"))
        write_conf_file(server.conf, good)
        p = subprocess.run([CHECK, "--config", server.conf, "--web-user", "www-data"],
                           capture_output=True, text=True, timeout=60)
        check("right password: lqos-telemetry-check passes the database check",
              "[ OK ] database: PostgreSQL" in p.stdout, p.stdout[-600:])
    finally:
        server.stop()


def t_pgbouncer(pg, base):
    why = pg.start_bouncer()
    if why:
        lq.skip_check("pgbouncer", why)
        return
    pg.new_database("bouncer")
    recv = Receiver()
    url = pg.uri_tcp("bouncer", port=pg.bouncer_port)
    server = lq.PrivateApache(base, rundir=os.path.join(base, "bouncer"))
    server.start(conf_text(url, os.path.join(server.rundir, "state"), webhook_url=recv.url(),
                           trusted_proxies="127.0.0.1"))
    try:
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            rs = list(ex.map(lambda i: submit(server, i), range(40)))
        ids = [(jdoc(r) or {}).get("test_id") for r in rs if r.status == 200]
        check("pgbouncer: 40 concurrent submissions through transaction pooling stored",
              len(ids) == 40, [r.status for r in rs if r.status != 200][:5])
        r = server.get("/api/telemetry/recent?limit=100&test_type=single_user", headers=auth())
        check("pgbouncer: support queries answer", r.status == 200 and (jdoc(r) or {}).get("total") == 40,
              r.body[:200])
        p = subprocess.run([FLUSH, "--config", server.conf, "--quiet"], capture_output=True, timeout=120)
        with recv.lock:
            got = list(recv.ids)
        check("pgbouncer: the flusher delivers every event once", sorted(got) == sorted(ids),
              (p.returncode, len(got)))
    finally:
        server.stop()
        recv.close()


def t_migrate_command(pg, base):
    """An SQLite server's tests and undelivered events into PostgreSQL,
    twice (the second run copies nothing), then delivered from there."""
    url = pg.new_database("moved")
    recv = Receiver()
    rundir = os.path.join(base, "sqlite-server")
    server = lq.PrivateApache(base, rundir=rundir)
    state = os.path.join(rundir, "state")
    lite_conf = "\n".join(['database_path="%s/isp_telemetry.db"' % state, 'telemetry_api_key="%s"' % API_KEY,
                           'max_tests_per_ip_per_hour="0"', 'webhook_prompt_delivery="false"',
                           'webhook_url="%s"' % recv.url(), 'trusted_proxies="127.0.0.1"']) + "\n"
    server.start(lite_conf)
    migrate = os.path.join(BUILDDIR, "sbin", "lqos-telemetry-migrate")
    try:
        ids = [(jdoc(submit(server, i)) or {}).get("test_id") for i in range(12)]
        lite = os.path.join(state, "isp_telemetry.db")
        out1 = subprocess.run([migrate, "--from", lite, "--to", url], capture_output=True, text=True, timeout=120)
        check("migrate command: first run copies 12 tests and 12 undelivered events",
              out1.returncode == 0 and "tests: 12 read, 12 copied, 0 already there" in out1.stdout
              and "undelivered events: 12 read, 12 copied, 0 already there" in out1.stdout,
              out1.stdout + out1.stderr)
        out2 = subprocess.run([migrate, "--from", lite, "--to", url], capture_output=True, text=True, timeout=120)
        check("migrate command: a second run copies nothing twice",
              out2.returncode == 0 and "tests: 12 read, 0 copied, 12 already there" in out2.stdout
              and "undelivered events: 12 read, 0 copied, 12 already there" in out2.stdout,
              out2.stdout + out2.stderr)
        stored = pg.psql("moved", "SELECT test_id FROM test_results ORDER BY id").split()
        check("migrate command: the same tests, oldest first", stored == ids, (stored[:3], ids[:3]))
        r = server.get("/api/telemetry/test/" + ids[0], headers=auth())
        lite_row = (jdoc(r) or {}).get("test")
        write_conf_file(server.conf, lite_conf + 'database_url="%s"\n' % url)
        r = server.get("/api/telemetry/test/" + ids[0], headers=auth())
        pg_row = (jdoc(r) or {}).get("test")
        if lite_row and pg_row:
            lite_row.pop("id", None)
            pg_row.pop("id", None)
        check("migrate command: a test reads the same from PostgreSQL as from SQLite (but the row id)",
              lite_row is not None and lite_row == pg_row, (lite_row, pg_row))
        p = subprocess.run([FLUSH, "--config", server.conf, "--quiet"], capture_output=True, timeout=120)
        with recv.lock:
            got = list(recv.ids)
        check("migrate command: the copied events are delivered from PostgreSQL once",
              sorted(got) == sorted(ids), (p.returncode, len(got)))
        bad = subprocess.run([migrate, "--from", lite, "--to", pg.url("moved", passfile="/nonexistent")],
                             capture_output=True, text=True, timeout=60)
        check("migrate command: a connection failure says why and exits 1",
              bad.returncode == 1 and "PostgreSQL" in bad.stderr, bad.stderr)
    finally:
        server.stop()
        recv.close()


def main():
    why = pgserver.missing() or lq.apache_missing()
    if why:
        lq.skip_check("PostgreSQL back end", why)
        return 0
    base = tempfile.mkdtemp(prefix="lqos-pgit-")
    os.chmod(base, 0o755)
    pg = pgserver.PgServer(base)
    recv = Receiver()
    try:
        pg.start()
        only = os.environ.get("LQOS_PG_ONLY", "")
        for name, fn in (("migrate", lambda: t_migrate_once(pg, base)),
                         ("two", lambda: t_two_servers(pg, base, recv)),
                         ("ratelimit", lambda: t_rate_limit(pg, base)),
                         ("keys", lambda: t_keys_and_erase(pg, base)),
                         ("lease", lambda: t_killed_flusher(pg, base)),
                         ("creds", lambda: t_wrong_credentials(pg, base)),
                         ("bouncer", lambda: t_pgbouncer(pg, base)),
                         ("restart", lambda: t_restart_under_load(pg, base)),
                         ("move", lambda: t_migrate_command(pg, base))):
            if only and name not in only.split(","):
                continue
            t0 = time.monotonic()
            fn()
            print("# %s: %.1f s" % (name, time.monotonic() - t0))
    finally:
        recv.close()
        pg.stop()
        lq.remove_unless_failed(base)
    return 0


if __name__ == "__main__":
    lq.main_wrapper(main)
