#!/usr/bin/env python3
"""Integration tests through a real Apache with mod_cgid (SPEC sections 4 and 8).

Starts a private Apache with scripts/private-apache on a free loopback port
and drives every endpoint over HTTP: both submission formats, the support
API with and without a key, every error status of SPEC section 4, the
guide's curl | jq examples run verbatim with the real curl and jq, the
guide's log lines, retention, 64 concurrent submitters, and the shared
hosting variant (apache/htaccess in a DocumentRoot with mod_rewrite).

The CGI programs read RUNDIR/lqos_test.conf on every request, so each
scenario rewrites it (most with a database of its own) instead of
restarting Apache.

Environment: LQOS_SRCDIR, LQOS_BUILDDIR (set by make check).
Prints "RESULT: N passed, M failed" last; exits 1 on any failure, 77 when
Apache, mod_cgid, curl or jq is missing.
"""
import concurrent.futures
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import backend  # noqa: E402
import lqostest as lq  # noqa: E402
from lqostest import (BUILDDIR, SRCDIR, Response, check, free_port, is_json_error,  # noqa: E402
                      native_household, request)

TIMESTAMP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
TEST_ID_RE = re.compile(r"^isp_\d+_\d+$")
MAX_BODY = 64 * 1024


def apache_bin():
    for b in ("/usr/sbin/apache2", "/usr/sbin/httpd"):
        if os.access(b, os.X_OK):
            return b
    return shutil.which("apache2") or shutil.which("httpd")


def apache_moddir():
    for d in ("/usr/lib/apache2/modules", "/usr/lib64/httpd/modules", "/usr/libexec/apache2"):
        if os.path.isfile(os.path.join(d, "mod_cgid.so")):
            return d
    return None


# ------------------------------------------------------------------ HTTP


def check_error(name, r, status):
    return check(f"{name}: {status} JSON error", is_json_error(r, status), repr(r))


# ------------------------------------------------------------------ payloads


def native_single(dl_inc, ul_inc, bidi_inc, dl=100.0, ul=20.0, baseline=12.5):
    return lq.native_single(dl_inc, ul_inc, bidi_inc, dl=dl, ul=ul, baseline=baseline,
                            server_name="itest-server")


def original_single():
    """What the original LibreQoS client sends (SPEC section 7)."""
    return lq.original_single(upload_grade={"grade": "F", "cssClass": "f"},
                              server_url="https://speed.example.net")


def original_household():
    return {
        "telemetry_enabled": True,
        "timestamp": "2025-06-12T12:43:00.000Z",
        "results": {
            "test_type": "household",
            "grades": {"overall": "B"},
            "household_metrics": {"alex_performance": "A", "sarah_performance": "B",
                                  "jake_performance": "A", "computer_performance": "C"},
            "server_info": {"server_id": "s-2", "server_name": "original-household-server"},
        },
    }


GOOD = native_single(3, 20, 45)      # A+, A, B -> A
D_RESULT = native_single(250, 300, 350)   # D, D, D -> D
F_RESULT = native_single(500, 600, 700)   # F, F, F -> F


# ------------------------------------------------------------------ the server


def shows_store(j, db_path):
    """stats names where the store is: database_path on SQLite, the
    database_url (without a password) on PostgreSQL."""
    if backend.IS_PG:
        return j.get("database") == "postgresql" and j.get("database_url") == backend.url_for(db_path)
    return j.get("database") == "sqlite" and j.get("database_path") == db_path


class Server(lq.PrivateApache):
    """A private Apache from scripts/private-apache (lqostest.PrivateApache),
    each scenario with a database of its own under RUNDIR/state."""

    def db(self, name):
        return os.path.join(self.state, name + ".db")

    def set_conf(self, db, **keys):
        lines = ["# written by tests/apache_integration.py", f'database_path="{self.db(db)}"']
        lines += [f'{k}="{v}"' for k, v in keys.items()]
        self.write_conf("\n".join(lines) + "\n")

    # shorthands (get and submit come from lqostest.PrivateApache)
    def post(self, path, body, headers=None):
        return request(self.port, "POST", path, body=body, headers=headers)

    def total(self, headers=None):
        r = self.get("/api/telemetry/stats", headers)
        if r.status != 200 or not r.json:
            raise RuntimeError(f"stats failed: {r!r}")
        return r.json["total_tests_stored"]


def count_lines(text, line):
    """Occurrences of `line` as a whole log line (Apache may prefix CGI
    stderr with its own fields; accept the line at the end)."""
    return sum(1 for ln in text.splitlines() if ln == line or ln.endswith("] " + line)
               or ln.endswith(": " + line))


# ------------------------------------------------------------------ scenarios


def scenario_zero_config_and_log_lines(s):
    """Zero configuration (the file private-apache writes holds only
    database_path), and the guide's log lines: once per effective
    configuration, not once per request."""
    off = s.log_size()
    # The first requests on a fresh database arrive all at once.
    burst = concurrent_burst(s.port, 64, None, "GET", "/api/telemetry/stats")
    check("zero-config burst of 64 stats requests on a new database",
          all(isinstance(r, Response) and r.status == 200 for r in burst),
          [r for r in burst if not isinstance(r, Response) or r.status != 200][:2])
    r = s.get("/api/sponsor")
    check("sponsor zero-config 200", r.status == 200, repr(r))
    check("sponsor zero-config nulls", r.json is not None and r.json.get("sponsor_name") is None
          and "sponsor_name" in r.json and r.json.get("sponsor_url") is None
          and r.json.get("sponsor_city") is None, repr(r))
    check("sponsor content type", (r.header("Content-Type") or "") == "application/json; charset=utf-8",
          r.header("Content-Type"))

    statuses = []
    for body in (GOOD, native_household(), original_single(), original_household()):
        statuses.append(s.submit(body).status)
    for path in ("/api/telemetry/recent", "/api/telemetry/customer/127.0.0.1",
                 "/api/telemetry/stats", "/api/telemetry/recent?limit=2"):
        statuses.append(s.get(path).status)
    # Many at once: the line must still appear once.
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        statuses += [r.status for r in pool.map(
            lambda i: s.submit(GOOD) if i % 2 else s.get("/api/telemetry/stats"), range(32))]
    check("zero-config requests all 200", all(st == 200 for st in statuses), statuses)
    text = s.log_since(off)
    n = count_lines(text, "ISP telemetry: local storage only")
    check("log 'ISP telemetry: local storage only' exactly once", n == 1, f"{n} times:\n{text}")
    check("no webhook line without webhook_url",
          "ISP telemetry: local storage + webhook" not in text, text)

    # Same database, webhook added: the new effective configuration is
    # logged once, whatever the number of requests.
    default_conf = open(s.conf).read()
    s.write_conf(default_conf + 'webhook_url="http://127.0.0.1:9/hook"\n'
                 'webhook_secret="never-log-this-secret"\n')
    off2 = s.log_size()
    # Many requests see the change at the same moment: one line only.
    burst = concurrent_burst(s.port, 64, None, "GET", "/api/telemetry/stats")
    check("webhook config burst of 64", all(isinstance(r, Response) and r.status == 200 for r in burst),
          [r for r in burst if not isinstance(r, Response) or r.status != 200][:2])
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        rs = list(pool.map(lambda i: s.submit(GOOD) if i % 2 else s.get("/api/telemetry/stats"),
                           range(32)))
    check("webhook config requests 200", all(r.status == 200 for r in rs),
          [r for r in rs if r.status != 200][:2])
    r = s.get("/api/telemetry/stats")
    check("stats webhook_enabled true", r.json and r.json.get("webhook_enabled") is True, repr(r))
    check("stats webhook_url", r.json and r.json.get("webhook_url") == "http://127.0.0.1:9/hook", repr(r))
    check("stats never shows the webhook secret", b"never-log-this-secret" not in r.body, repr(r))
    text = s.log_since(off2)
    line = "ISP telemetry: local storage + webhook to http://127.0.0.1:9/hook"
    n = count_lines(text, line)
    check("log webhook line exactly once", n == 1, f"{n} times:\n{text[-3000:]}")
    check("local-only line not repeated", count_lines(text, "ISP telemetry: local storage only") == 0,
          text[-3000:])
    check("webhook secret never logged", "never-log-this-secret" not in s.log_since(0))

    # Back to local only: that is a change again, logged once.
    s.write_conf(default_conf)
    off3 = s.log_size()
    concurrent_burst(s.port, 64, None, "GET", "/api/telemetry/recent")
    for _ in range(5):
        s.get("/api/telemetry/stats")
    text = s.log_since(off3)
    check("log local-only again after webhook removed",
          count_lines(text, "ISP telemetry: local storage only") == 1, text)


def scenario_endpoints(s):
    s.set_conf("endpoints", max_tests_per_ip_per_hour="0")
    ua = "Mozilla/5.0 (X11; Linux x86_64) lqos-itest"

    # Native single user.
    r = s.submit(GOOD, {"User-Agent": ua})
    check("native single 200", r.status == 200, repr(r))
    j = r.json or {}
    check("native single success/stored", j.get("success") is True and j.get("stored") is True, repr(r))
    check("native single test_id format", TEST_ID_RE.match(str(j.get("test_id"))), j.get("test_id"))
    check("native single timestamp format", TIMESTAMP_RE.match(str(j.get("timestamp"))), j.get("timestamp"))
    check("native single test_type", j.get("test_type") == "single_user", repr(r))
    g = j.get("grades") or {}
    check("native single grades", (g.get("download"), g.get("upload"), g.get("bidirectional"),
                                   g.get("overall"), g.get("single_user_score"))
          == ("A+", "A", "B", "A", 80), g)
    check("native single client_ip", j.get("client_ip") == "127.0.0.1", repr(r))
    single_id = j.get("test_id")

    # Native virtual household.
    r = s.submit(native_household())
    j = r.json or {}
    check("native household 200", r.status == 200 and j.get("success") is True, repr(r))
    check("native household type", j.get("test_type") == "virtual_household", repr(r))
    g = j.get("grades") or {}
    check("native household grades", (g.get("alex"), g.get("sarah"), g.get("jake"), g.get("computer"),
                                      g.get("overall"), g.get("household_score"))
          == ("A", "A", "A", "A", "A", 80), g)
    hh_id = j.get("test_id")

    # The original client's single test: its letters are recomputed.
    r = s.submit(original_single())
    j = r.json or {}
    check("original single 200", r.status == 200 and j.get("stored") is True, repr(r))
    g = j.get("grades") or {}
    check("original single graded by the server",
          (g.get("download"), g.get("upload"), g.get("bidirectional"), g.get("overall"),
           g.get("single_user_score")) == ("C", "F", "D", "D", 20), g)
    orig_id = j.get("test_id")

    # The original client's household test: letters validated, kept.
    r = s.submit(original_household())
    j = r.json or {}
    check("original household 200", r.status == 200 and j.get("test_type") == "virtual_household", repr(r))
    g = j.get("grades") or {}
    check("original household letters", (g.get("alex"), g.get("sarah"), g.get("jake"),
                                         g.get("computer"), g.get("overall"))
          == ("A", "B", "A", "C", "B"), g)
    orig_hh_id = j.get("test_id")

    # Telemetry opt-out: graded, not stored.
    body = original_single()
    body["telemetry_enabled"] = False
    r = s.submit(body)
    check("telemetry_enabled false: graded, not stored",
          r.status == 200 and r.json and r.json.get("stored") is False
          and "test_id" not in r.json and r.json["grades"]["overall"] == "D", repr(r))

    # Recent: newest first, rows with the guide's columns and numbers.
    r = s.get("/api/telemetry/recent")
    j = r.json or {}
    check("recent 200", r.status == 200 and j.get("success") is True, repr(r))
    check("recent content type", r.header("Content-Type") == "application/json; charset=utf-8",
          r.header("Content-Type"))
    check("recent default limit 50", j.get("limit") == 50, j.get("limit"))
    tests = j.get("tests") or []
    check("recent total", j.get("total") == 4 and len(tests) == 4, repr(r))
    check("recent newest first", [t.get("test_id") for t in tests] == [orig_hh_id, orig_id, hh_id, single_id],
          [t.get("test_id") for t in tests])
    guide_cols = ["id", "timestamp", "client_ip", "user_agent", "test_type", "download_mbps",
                  "upload_mbps", "baseline_latency_ms", "download_latency_increase_ms",
                  "upload_latency_increase_ms", "bidirectional_latency_increase_ms",
                  "single_user_score", "download_grade", "upload_grade", "bidirectional_grade",
                  "overall_grade", "household_score", "alex_grade", "sarah_grade", "jake_grade",
                  "computer_grade", "test_server_name"]
    missing = [c for t in tests for c in guide_cols if c not in t]
    check("rows carry every column of the guide's schema", not missing, missing)
    row = {t.get("test_id"): t for t in tests}.get(single_id, {})
    check("row numbers are JSON numbers",
          isinstance(row.get("download_mbps"), (int, float)) and row.get("download_mbps") == 100
          and isinstance(row.get("single_user_score"), int) and row.get("single_user_score") == 80
          and row.get("download_latency_increase_ms") == 3, row)
    check("row grades", (row.get("download_grade"), row.get("upload_grade"),
                         row.get("bidirectional_grade"), row.get("overall_grade")) == ("A+", "A", "B", "A"), row)
    check("row client_ip and user agent", row.get("client_ip") == "127.0.0.1" and row.get("user_agent") == ua, row)
    check("row test_server_name from the submission", row.get("test_server_name") == "itest-server", row)
    check("row test_duration_seconds", row.get("test_duration_seconds") == 40, row)
    check("row timestamps", all(TIMESTAMP_RE.match(str(t.get("timestamp"))) for t in tests),
          [t.get("timestamp") for t in tests])
    check("row test_ids", all(TEST_ID_RE.match(str(t.get("test_id"))) for t in tests))
    orow = {t.get("test_id"): t for t in tests}.get(orig_id, {})
    check("original row: metrics and server name",
          orow.get("download_mbps") == 115.6 and orow.get("upload_mbps") == 23.4
          and orow.get("baseline_latency_ms") == 12.3 and orow.get("upload_latency_increase_ms") == 450
          and orow.get("test_server_name") == "original-server" and orow.get("overall_grade") == "D", orow)
    hrow = {t.get("test_id"): t for t in tests}.get(orig_hh_id, {})
    check("original household row",
          (hrow.get("alex_grade"), hrow.get("sarah_grade"), hrow.get("jake_grade"),
           hrow.get("computer_grade"), hrow.get("household_score"), hrow.get("single_user_score"),
           hrow.get("test_server_name")) == ("A", "B", "A", "C", 60, None, "original-household-server"), hrow)

    r = s.get("/api/telemetry/recent?limit=1")
    check("recent limit=1", r.status == 200 and r.json["limit"] == 1 and len(r.json["tests"]) == 1
          and r.json["tests"][0]["test_id"] == orig_hh_id, repr(r))
    r = s.get("/api/telemetry/recent?limit=1000")
    check("recent limit=1000 (the maximum) accepted", r.status == 200 and r.json["total"] == 4, repr(r))

    # Customer: IPv4; IPv6 stored through a trusted proxy, asked for in
    # another spelling; IPv4-mapped IPv6 stored as IPv4.
    r = s.get("/api/telemetry/customer/127.0.0.1")
    j = r.json or {}
    check("customer IPv4 200", r.status == 200 and j.get("client_ip") == "127.0.0.1"
          and j.get("total_tests") == 4 and len(j.get("tests", [])) == 4, repr(r))
    check("customer newest first", [t["test_id"] for t in j.get("tests", [])]
          == [orig_hh_id, orig_id, hh_id, single_id], repr(r))
    r = s.get("/api/telemetry/customer/127.0.0.1?limit=2")
    check("customer limit", r.status == 200 and len(r.json["tests"]) == 2
          and r.json["total_tests"] == 4, repr(r))

    s.set_conf("endpoints", max_tests_per_ip_per_hour="0", trusted_proxies="127.0.0.1")
    r = s.submit(GOOD, {"X-Forwarded-For": "2001:0db8:0000:0000:0000:0000:0000:0001"})
    check("IPv6 client stored canonical", r.status == 200 and r.json.get("client_ip") == "2001:db8::1", repr(r))
    v6_id = r.json.get("test_id") if r.json else None
    r = s.submit(GOOD, {"X-Forwarded-For": "::ffff:198.51.100.7"})
    check("IPv4-mapped client stored as IPv4", r.status == 200 and r.json.get("client_ip") == "198.51.100.7",
          repr(r))
    for spelling in ("2001:DB8:0:0::1", "2001:db8::1", "2001:0DB8:0000:0000:0000:0000:0000:0001"):
        r = s.get("/api/telemetry/customer/" + spelling)
        j = r.json or {}
        check(f"customer IPv6 {spelling}", r.status == 200 and j.get("client_ip") == "2001:db8::1"
              and j.get("total_tests") == 1 and [t["test_id"] for t in j.get("tests", [])] == [v6_id], repr(r))
    r = s.get("/api/telemetry/customer/::ffff:198.51.100.7")
    check("customer IPv4-mapped query", r.status == 200 and r.json["client_ip"] == "198.51.100.7"
          and r.json["total_tests"] == 1, repr(r))
    r = s.get("/api/telemetry/customer/192.0.2.200")
    check("customer without tests", r.status == 200 and r.json["tests"] == [] and r.json["total_tests"] == 0,
          repr(r))
    for bad in ("not-an-ip", "1.2.3", "999.1.1.1", "fe80::1%25eth0", "1.2.3.4.5", "2001:db8::1::2"):
        check_error(f"customer invalid ip {bad}", s.get("/api/telemetry/customer/" + bad), 400)
    check_error("customer without ip", s.get("/api/telemetry/customer"), 400)
    check_error("customer with empty ip", s.get("/api/telemetry/customer/"), 400)

    # Stats.
    r = s.get("/api/telemetry/stats")
    j = r.json or {}
    check("stats 200", r.status == 200 and j.get("success") is True, repr(r))
    want = ["total_tests_stored", "unique_client_ips", "last_test_time", "max_stored_tests",
            "webhook_enabled", "webhook_url", "database", "database_url" if backend.IS_PG else "database_path"]
    check("stats fields", all(k in j for k in want), [k for k in want if k not in j])
    check("stats values", j.get("total_tests_stored") == 6 and j.get("unique_client_ips") == 3
          and j.get("max_stored_tests") == 1000 and j.get("webhook_enabled") is False
          and j.get("webhook_url") is None and shows_store(j, s.db("endpoints")), j)
    check("stats last_test_time format", TIMESTAMP_RE.match(str(j.get("last_test_time"))), j)

    # Sponsor with keys set (UTF-8 included).
    s.set_conf("endpoints", sponsor_name="Fjärde Nät ISP", sponsor_url="https://isp.example.net",
               sponsor_city="Umeå")
    r = s.get("/api/sponsor")
    check("sponsor with keys", r.status == 200 and r.json and r.json.get("sponsor_name") == "Fjärde Nät ISP"
          and r.json.get("sponsor_url") == "https://isp.example.net" and r.json.get("sponsor_city") == "Umeå",
          repr(r))
    s.set_conf("endpoints", sponsor_name="Only Name")
    r = s.get("/api/sponsor")
    check("sponsor partly set", r.status == 200 and r.json.get("sponsor_name") == "Only Name"
          and r.json.get("sponsor_url") is None and r.json.get("sponsor_city") is None, repr(r))
    r = s.get("/api/sponsor/")
    check("sponsor trailing slash", r.status == 200 and r.json.get("sponsor_name") == "Only Name", repr(r))


def scenario_auth_with_key(s):
    key = "k3y-For-Support_0123456789"
    s.set_conf("auth", telemetry_api_key=key, max_tests_per_ip_per_hour="0")
    r = s.submit(GOOD)
    check("submit is public with a key configured", r.status == 200, repr(r))
    paths = ["/api/telemetry/recent", "/api/telemetry/customer/127.0.0.1", "/api/telemetry/stats"]
    for p in paths:
        sep = "&" if "?" in p else "?"
        r = s.get(p, {"Authorization": "Bearer " + key})
        check(f"Bearer through Apache (CGIPassAuth) {p}", r.status == 200 and r.json.get("success") is True,
              repr(r))
        r = s.get(p, {"Authorization": "bearer " + key})
        check(f"Bearer scheme case-insensitive {p}", r.status == 200, repr(r))
        r = s.get(p, {"X-API-Key": key})
        check(f"X-API-Key {p}", r.status == 200, repr(r))
        r = s.get(p + sep + "api_key=" + key)
        check(f"?api_key= {p}", r.status == 200, repr(r))
        r = s.get(p)
        ok = check_error(f"no key {p}", r, 401)
        if ok:
            msg = r.json["error"]
            check(f"401 message names the three ways {p}",
                  "Authorization: Bearer" in msg and "X-API-Key" in msg and "api_key" in msg, msg)
        check(f"401 has WWW-Authenticate {p}", (r.header("WWW-Authenticate") or "").startswith("Bearer"),
              r.headers)
        check_error(f"wrong Bearer {p}", s.get(p, {"Authorization": "Bearer wrong"}), 401)
        last = key[:-1] + ("8" if key[-1] != "8" else "7")
        check_error(f"key differing in the last byte {p}", s.get(p, {"Authorization": "Bearer " + last}), 401)
        check_error(f"key with an extra byte {p}", s.get(p, {"X-API-Key": key + "x"}), 401)
        check_error(f"key prefix {p}", s.get(p, {"X-API-Key": key[:-1]}), 401)
        check_error(f"wrong X-API-Key {p}", s.get(p, {"X-API-Key": last}), 401)
        check_error(f"wrong ?api_key {p}", s.get(p + sep + "api_key=" + last), 401)
        check_error(f"Basic auth is not a key {p}", s.get(p, {"Authorization": "Basic " + key}), 401)
    r = s.get("/api/telemetry/recent", {"Authorization": "Bearer wrong"})
    check("wrong key message names the three ways", r.json and "X-API-Key" in r.json.get("error", ""), repr(r))
    # A wrong header does not hide a right one.
    r = s.get("/api/telemetry/recent", {"Authorization": "Bearer wrong", "X-API-Key": key})
    check("wrong Bearer + right X-API-Key", r.status == 200, repr(r))
    # Loopback is not enough once a key is set.
    check_error("key set: loopback without key refused", s.get("/api/telemetry/stats"), 401)
    # The query key can be switched off.
    s.set_conf("auth", telemetry_api_key=key, allow_query_api_key="false")
    check_error("?api_key= refused when allow_query_api_key=false",
                s.get("/api/telemetry/stats?api_key=" + key), 401)
    r = s.get("/api/telemetry/stats", {"Authorization": "Bearer " + key})
    check("Bearer still fine when query keys are off", r.status == 200, repr(r))
    r = s.get("/api/telemetry/stats", {"Authorization": "Bearer " + key})
    check("stats never shows the API key", key.encode() not in r.body, repr(r))


def scenario_no_key(s):
    # No key: loopback allowed (the requests come from 127.0.0.1).
    s.set_conf("nokey", max_tests_per_ip_per_hour="0")
    for p in ("/api/telemetry/recent", "/api/telemetry/customer/127.0.0.1", "/api/telemetry/stats"):
        r = s.get(p)
        check(f"no key, loopback allowed {p}", r.status == 200, repr(r))
    # A spoofed X-Forwarded-For without trusted_proxies is ignored.
    r = s.submit(GOOD, {"X-Forwarded-For": "203.0.113.9"})
    check("spoofed XFF ignored on submit", r.status == 200 and r.json.get("client_ip") == "127.0.0.1", repr(r))
    r = s.get("/api/telemetry/recent?limit=1")
    check("spoofed XFF: stored client_ip is 127.0.0.1",
          r.status == 200 and r.json["tests"][0]["client_ip"] == "127.0.0.1", repr(r))
    r = s.get("/api/telemetry/stats", {"X-Forwarded-For": "203.0.113.9"})
    check("spoofed XFF does not lock out loopback", r.status == 200, repr(r))
    # Behind a trusted proxy the resolved client is 203.0.113.9: refused.
    s.set_conf("nokey", max_tests_per_ip_per_hour="0", trusted_proxies="127.0.0.1")
    for p in ("/api/telemetry/recent", "/api/telemetry/customer/127.0.0.1", "/api/telemetry/stats"):
        r = s.get(p, {"X-Forwarded-For": "203.0.113.9"})
        if check_error(f"no key, non-loopback client refused {p}", r, 401):
            check(f"non-loopback 401 explains telemetry_api_key {p}",
                  "telemetry_api_key" in r.json["error"], r.json["error"])
    r = s.submit(GOOD, {"X-Forwarded-For": "203.0.113.9"})
    check("trusted proxy: client from XFF stored", r.status == 200 and r.json.get("client_ip") == "203.0.113.9",
          repr(r))
    # Right-most untrusted address wins; a spoofed left entry is ignored.
    r = s.submit(GOOD, {"X-Forwarded-For": "10.9.9.9, 198.51.100.20"})
    check("trusted proxy: right-most address", r.status == 200 and r.json.get("client_ip") == "198.51.100.20",
          repr(r))
    r = s.get("/api/telemetry/customer/203.0.113.9")
    check("customer behind proxy, asked from loopback", r.status == 200 and r.json["total_tests"] == 1, repr(r))


def scenario_errors(s):
    s.set_conf("errors", max_tests_per_ip_per_hour="0")
    r = s.submit(GOOD)
    check("errors: first submission stored", r.status == 200, repr(r))
    before = s.total()
    J = {"Content-Type": "application/json"}

    check_error("bad JSON", s.post("/api/telemetry", "{not json", J), 400)
    check_error("JSON array", s.post("/api/telemetry", "[1,2]", J), 400)
    check_error("empty object", s.post("/api/telemetry", "{}", J), 400)
    check_error("empty body", s.post("/api/telemetry", b"", J), 400)
    check_error("unknown test_type", s.submit(dict(GOOD, test_type="triple")), 400)
    bad = json.loads(json.dumps(GOOD))
    bad["download"]["latency_increase_ms"] = "45"
    check_error("wrong type", s.submit(bad), 400)
    dup = json.dumps(GOOD)[:-1] + ', "test_type": "single_user"}'
    check_error("duplicate key", s.post("/api/telemetry", dup, J), 400)
    check_error("non-finite number", s.post("/api/telemetry", json.dumps(GOOD).replace("100.0", "1e999"), J), 400)
    check_error("out of range", s.submit(native_single(3, 20, 45, dl=-1)), 400)
    deep = '{"results": ' + "[" * 5000 + "]" * 5000 + "}"
    check_error("deeply nested", s.post("/api/telemetry", deep, J), 400)
    r = s.post("/api/telemetry", "{not json", J)
    check("400 names the problem", r.json and "JSON" in r.json.get("error", ""), repr(r))

    for q in ("0", "abc", "1001", "-1", "1.5", "", "10x"):
        check_error(f"recent limit={q!r}", s.get("/api/telemetry/recent?limit=" + q), 400)
        check_error(f"customer limit={q!r}", s.get("/api/telemetry/customer/127.0.0.1?limit=" + q), 400)
    r = s.get("/api/telemetry/recent?limit=0")
    check("bad limit message names the range", r.json and "1" in r.json["error"] and "1000" in r.json["error"],
          repr(r))
    check_error("bad ip", s.get("/api/telemetry/customer/256.256.256.256"), 400)

    for p in ("/api/nope", "/api/telemetry/unknown", "/api/telemetry/recentx", "/api/telemetry/stats/x",
              "/api/", "/api", "/api/sponsorx"):
        r = s.get(p)
        check_error(f"404 {p}", r, 404)
    r = s.post("/api/nope", GOOD)
    check_error("404 POST unknown route", r, 404)

    r = s.get("/api/telemetry")
    check_error("405 GET /api/telemetry", r, 405)
    check("405 Allow: POST", r.header("Allow") == "POST", r.headers)
    r = s.post("/api/telemetry/recent", GOOD)
    check_error("405 POST /api/telemetry/recent", r, 405)
    check("405 Allow: GET (recent)", r.header("Allow") == "GET", r.headers)
    for p in ("/api/telemetry/stats", "/api/telemetry/customer/127.0.0.1", "/api/sponsor"):
        r = s.post(p, GOOD)
        check_error(f"405 POST {p}", r, 405)
        check(f"405 Allow: GET {p}", r.header("Allow") == "GET", r.headers)
    r = request(s.port, "DELETE", "/api/telemetry")
    check_error("405 DELETE /api/telemetry", r, 405)
    r = request(s.port, "PUT", "/api/telemetry", body=GOOD)
    check_error("405 PUT /api/telemetry", r, 405)

    # 411: a chunked body has no Content-Length.
    payload = json.dumps(GOOD).encode()
    r = s.post("/api/telemetry", iter([payload[:50], payload[50:]]), J)
    check_error("411 chunked body", r, 411)
    # 411 also on a raw request with neither length nor chunking.
    with socket.create_connection(("127.0.0.1", s.port), timeout=30) as sock:
        sock.sendall(b"POST /api/telemetry HTTP/1.0\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\n\r\n")
        raw = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    st = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    check("411 raw POST without Content-Length", st == 411 and b'"success": false' in body, raw[:300])

    # 413: Apache refuses > 64 KiB with the JSON ErrorDocument; exactly
    # 64 KiB is still a result.
    base = json.dumps(GOOD)
    at_limit = base[:-1] + " " * (MAX_BODY - len(base)) + "}"
    r = s.post("/api/telemetry", at_limit, J)
    check("64 KiB body accepted", len(at_limit) == MAX_BODY and r.status == 200, repr(r))
    after_limit_ok = 1 if r.status == 200 else 0
    r = s.post("/api/telemetry", at_limit[:-1] + " }", J)
    check_error("413 body of 64 KiB + 1", r, 413)
    r = s.post("/api/telemetry", base[:-1] + " " * (200 * 1024) + "}", J)
    check_error("413 body of 200 KiB", r, 413)
    check("413 message", r.json and "65536" in r.json.get("error", ""), repr(r))

    # 415.
    check_error("415 text/plain", s.post("/api/telemetry", base, {"Content-Type": "text/plain"}), 415)
    check_error("415 form", s.post("/api/telemetry", base,
                                   {"Content-Type": "application/x-www-form-urlencoded"}), 415)
    check_error("415 no content type", s.post("/api/telemetry", base, {}), 415)
    r = s.post("/api/telemetry", base, {"Content-Type": "application/json; charset=utf-8"})
    check("JSON with charset accepted", r.status == 200, repr(r))

    # Answers sent before the body was read must still arrive whole
    # (mod_cgid resets the socket of a program that leaves input unread).
    broken = []
    filler = "x" * 30000
    for i in range(12):
        for name, send, st in (
                ("415", lambda: s.post("/api/telemetry", filler, {"Content-Type": "text/plain"}), 415),
                ("405", lambda: s.post("/api/telemetry/recent", filler, J), 405),
                ("404", lambda: s.post("/api/nope", filler, J), 404),
                ("411", lambda: s.post("/api/telemetry", iter([filler.encode()]), J), 411)):
            try:
                r = send()
            except (http.client.HTTPException, OSError) as e:
                r = e
            if not isinstance(r, Response) or not is_json_error(r, st):
                broken.append((name, r))
    check("early errors on requests with a body arrive whole (48 tries)", not broken, broken[:3])

    total = s.total()
    check("bad requests stored nothing", total == before + after_limit_ok + 1,
          f"before {before}, after {total}")


def scenario_rate_limit(s):
    s.set_conf("ratelimit", max_tests_per_ip_per_hour="3")
    sts = [s.submit(GOOD).status for _ in range(3)]
    check("rate limit: first 3 accepted", sts == [200, 200, 200], sts)
    r = s.submit(GOOD)
    check_error("429 on the 4th", r, 429)
    ra = r.header("Retry-After") or ""
    check("429 Retry-After seconds", ra.isdigit() and 1 <= int(ra) <= 3601, ra)
    check("429 still returns the grades", r.json and (r.json.get("grades") or {}).get("overall") == "A", repr(r))
    r = s.submit(native_household())
    check_error("429 for household too", r, 429)
    check("429 stored nothing", s.total() == 3)
    # Another client (through a trusted proxy) is not affected.
    s.set_conf("ratelimit", max_tests_per_ip_per_hour="3", trusted_proxies="127.0.0.1")
    r = s.submit(GOOD, {"X-Forwarded-For": "198.51.100.1"})
    check("rate limit is per IP", r.status == 200, repr(r))
    s.set_conf("ratelimit", max_tests_per_ip_per_hour="0")
    r = s.submit(GOOD)
    check("max_tests_per_ip_per_hour=0 turns the limit off", r.status == 200, repr(r))


def scenario_unavailable(s):
    # A broken config: the support API fails closed with 503 naming file
    # and line; a submission is graded but not stored.
    s.set_conf("unavail", max_tests_per_ip_per_hour="0")
    s.submit(GOOD)
    good_conf = open(s.conf).read()
    s.write_conf(good_conf + 'telemetry_api_key="k"\nmax_stored_tests="-5"\n')
    bad_line = good_conf.count("\n") + 2
    off = s.log_size()
    for p in ("/api/telemetry/recent", "/api/telemetry/stats", "/api/telemetry/customer/127.0.0.1"):
        r = s.get(p, {"Authorization": "Bearer k"})
        if check_error(f"broken config: 503 {p}", r, 503):
            check(f"503 names file and line {p}", f"{s.conf}:{bad_line}" in r.json["error"], r.json["error"])
    r = s.submit(GOOD)
    check_error("broken config: submit 503", r, 503)
    check("broken config: submit still grades", r.json and (r.json.get("grades") or {}).get("overall") == "A",
          repr(r))
    check("broken config logged with file and line", f"{s.conf}:{bad_line}" in s.log_since(off),
          s.log_since(off)[-2000:])
    s.write_conf(good_conf + 'sponsor_name="unterminated\n')
    r = s.get("/api/telemetry/stats")
    check_error("syntax error: 503", r, 503)
    check("syntax error names the file", r.json and s.conf in r.json.get("error", ""), repr(r))
    s.write_conf(good_conf)
    check("broken config stored nothing", s.total() == 1)

    # An unwritable database location (SQLite); a database that cannot be
    # reached (PostgreSQL).
    ro = os.path.join(s.rundir, "readonly")
    os.makedirs(ro, exist_ok=True)
    os.chmod(ro, 0o555)
    cases = [(f'database_path="{path}"\n', what, ro)
             for path, what in ((os.path.join(ro, "sub", "t.db"), "directory cannot be created"),
                                (os.path.join(ro, "t.db"), "file cannot be created"))]
    if backend.IS_PG:
        backend.sqlite_only("unwritable db: database_path's directory or file cannot be created",
                            "PostgreSQL keeps no database file")
        db = s.db("unavail")
        missing = backend.url_for(db).replace(backend.db_name(db), "lqos_no_such_db")
        cases = [(f'database_path="{db}"\ndatabase_url="{missing}"\n', "database does not exist",
                  "lqos_no_such_db")]
    for where, what, named in cases:
        s.write_conf(where + 'max_tests_per_ip_per_hour="0"\n')
        r = s.submit(GOOD)
        if check_error(f"unwritable db ({what}): submit 503", r, 503):
            check(f"unwritable db ({what}): message names the path", named in r.json["error"], r.json["error"])
        check(f"unwritable db ({what}): Retry-After", (r.header("Retry-After") or "").isdigit(), r.headers)
        check(f"unwritable db ({what}): grades returned", r.json and r.json.get("grades", {}).get("overall") == "A",
              repr(r))
        for p in ("/api/telemetry/recent", "/api/telemetry/stats", "/api/telemetry/customer/127.0.0.1"):
            check_error(f"unwritable db ({what}): 503 {p}", s.get(p), 503)
    s.write_conf(good_conf)


def run_shell(cmd):
    return subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=60, text=True)


def json_stream(text):
    """The values jq prints, one after another."""
    dec = json.JSONDecoder()
    out, i = [], 0
    text = text.strip()
    while i < len(text):
        v, i = dec.raw_decode(text, i)
        out.append(v)
        while i < len(text) and text[i].isspace():
            i += 1
    return out


def scenario_guide_examples(s):
    """The guide's commands verbatim, with the real curl and jq; only the
    host (and the port, for localhost:8000) differ."""
    key = "your-api-key"
    s.set_conf("guide", telemetry_api_key=key, max_tests_per_ip_per_hour="0",
               trusted_proxies="127.0.0.1")
    host = f"127.0.0.1:{s.port}"
    customer = {"X-Forwarded-For": "192.168.1.100"}
    ids = {}
    for name, body, hdrs in (("good", GOOD, customer), ("d", D_RESULT, customer),
                             ("hh", native_household(), customer), ("other_good", GOOD, {}),
                             ("f", F_RESULT, {}), ("orig_d", original_single(), customer),
                             ("orig_hh", original_household(), {})):
        r = s.submit(body, hdrs)
        check(f"guide data {name}", r.status == 200, repr(r))
        ids[name] = r.json.get("test_id") if r.json else None

    # Recent, three ways to send the key.
    for cmd in (f'curl -H "Authorization: Bearer {key}" "http://{host}/api/telemetry/recent?limit=50"',
                f'curl -H "X-API-Key: {key}" "http://{host}/api/telemetry/recent?limit=50"',
                f'curl "http://{host}/api/telemetry/recent?limit=50&api_key={key}"'):
        p = run_shell(cmd)
        try:
            j = json.loads(p.stdout)
        except ValueError:
            j = None
        check(f"guide: {cmd}", p.returncode == 0 and j and j.get("success") is True and len(j["tests"]) == 7,
              p.stdout[:300] + p.stderr[-300:])

    # Recent bufferbloat issues.
    cmd = (f'curl -H "Authorization: Bearer {key}" \\\n  "http://{host}/api/telemetry/recent?limit=20" | \\\n'
           """  jq '.tests[] | select(.overall_grade == "D" or .overall_grade == "F")'""")
    p = run_shell(cmd)
    vals = json_stream(p.stdout) if p.returncode == 0 else []
    got = sorted(v.get("test_id") for v in vals)
    check("guide jq: D/F results", p.returncode == 0 and got == sorted([ids["d"], ids["f"], ids["orig_d"]]),
          f"{got} vs {ids}; {p.stderr[-300:]}")
    check("guide jq: D/F rows are whole rows", all(v.get("overall_grade") in ("D", "F") and "client_ip" in v
                                                 for v in vals), vals)

    # Customer with performance issues.
    cmd = (f'curl -H "Authorization: Bearer {key}" \\\n  "http://{host}/api/telemetry/customer/192.168.1.100" | \\\n'
           "  jq '.tests[] | {timestamp, test_type, overall_grade, download_mbps, upload_mbps}'")
    p = run_shell(cmd)
    vals = json_stream(p.stdout) if p.returncode == 0 else []
    check("guide jq: customer projection has 4 tests", len(vals) == 4, p.stdout[-500:] + p.stderr[-300:])
    check("guide jq: customer keys",
          all(set(v) == {"timestamp", "test_type", "overall_grade", "download_mbps", "upload_mbps"} for v in vals),
          vals)
    check("guide jq: customer values, newest first",
          [(v.get("test_type"), v.get("overall_grade"), v.get("download_mbps"), v.get("upload_mbps"))
           for v in vals]
          == [("single_user", "D", 115.6, 23.4), ("virtual_household", "A", 95.5, 19.5),
              ("single_user", "D", 100, 20), ("single_user", "A", 100, 20)], vals)
    check("guide jq: customer timestamps", all(TIMESTAMP_RE.match(str(v.get("timestamp"))) for v in vals), vals)

    # Household test analysis.
    cmd = (f'curl -H "Authorization: Bearer {key}" \\\n  "http://{host}/api/telemetry/recent" | \\\n'
           """  jq '.tests[] | select(.test_type == "virtual_household")'""")
    p = run_shell(cmd)
    vals = json_stream(p.stdout) if p.returncode == 0 else []
    check("guide jq: household select", sorted(v.get("test_id") for v in vals)
          == sorted([ids["hh"], ids["orig_hh"]]), vals)
    check("guide jq: household rows carry the four grades",
          all(all(v.get(k) in ("A+", "A", "B", "C", "D", "F") for k in
                  ("alex_grade", "sarah_grade", "jake_grade", "computer_grade")) for v in vals), vals)

    # Troubleshooting: stats on localhost (the guide's port is 8000; ours
    # is a free one).
    cmd = f'curl -H "Authorization: Bearer {key}" http://localhost:{s.port}/api/telemetry/stats'
    p = run_shell(cmd)
    try:
        j = json.loads(p.stdout)
    except ValueError:
        j = None
    check("guide troubleshooting stats", p.returncode == 0 and j and j.get("success") is True
          and j.get("total_tests_stored") == 7 and j.get("unique_client_ips") == 2
          and shows_store(j, s.db("guide")), p.stdout[:500] + p.stderr[-300:])
    # And with a wrong key the same command says why.
    p = run_shell(f'curl -s -w "\\n%{{http_code}}" -H "Authorization: Bearer nope" '
                  f'http://localhost:{s.port}/api/telemetry/stats')
    check("guide troubleshooting wrong key 401", p.stdout.rstrip().endswith("401")
          and "X-API-Key" in p.stdout, p.stdout)


def submit_many(port, n, workers=8, body=None, headers=None):
    body = json.dumps(body or GOOD).encode()
    hdrs = {"Content-Type": "application/json"}
    hdrs.update(headers or {})
    local = threading.local()

    def one(_):
        for attempt in range(2):
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                conn.request("POST", "/api/telemetry", body=body, headers=hdrs)
                r = conn.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    local.conn = None
                return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A kept-alive connection the server closed before this
                # request was read: nothing was sent to the program.
                conn.close()
                local.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, range(n)))


def scenario_retention(s):
    s.set_conf("retention", max_tests_per_ip_per_hour="0")
    t0 = time.monotonic()
    rs = submit_many(s.port, 1200, workers=8)
    elapsed = time.monotonic() - t0
    print(f"# retention: 1200 submissions in {elapsed:.1f} s ({1200 / elapsed:.0f}/s)", flush=True)
    ok = [r for r in rs if r.status == 200]
    check("retention: 1200 accepted", len(ok) == 1200, [r for r in rs if r.status != 200][:3])
    check("retention: all test_ids unique", len({r.json["test_id"] for r in ok}) == len(ok))
    check("retention: stats total 1000", s.total() == 1000)
    r = s.get("/api/telemetry/recent?limit=1000")
    tests = (r.json or {}).get("tests", [])
    check("retention: recent?limit=1000 returns 1000", r.status == 200 and len(tests) == 1000, repr(r)[:300])
    ids = [t["id"] for t in tests]
    check("retention: exactly the newest 1000 (ids 1200..201)", ids == list(range(1200, 200, -1)),
          f"first {ids[:3]} last {ids[-3:]}")
    # Test ids carry random bits, not the row id: the submissions kept are
    # 1000 of those accepted, and the 200 dropped ones are the oldest.
    accepted = {r.json["test_id"]: r.json["timestamp"] for r in ok}
    kept = {t["test_id"] for t in tests}
    check("retention: test_ids of the newest 1000 submissions", len(kept) == 1000 and kept <= set(accepted))
    if tests:
        dropped = [ts for tid, ts in accepted.items() if tid not in kept]
        check("retention: the dropped submissions are the oldest", len(dropped) == 200
              and max(dropped) <= min(t["timestamp"] for t in tests),
              (max(dropped) if dropped else None, tests[-1]["timestamp"]))
    check_error("retention: limit above max_stored_tests", s.get("/api/telemetry/recent?limit=1001"), 400)
    s.set_conf("retention", max_tests_per_ip_per_hour="0", max_stored_tests="10")
    r = s.submit(GOOD)
    check("retention: lowering max_stored_tests prunes on the next insert",
          r.status == 200 and s.total() == 10, repr(r))
    r = s.get("/api/telemetry/recent?limit=10")
    check("retention: the newest 10 remain", r.status == 200
          and [t["id"] for t in r.json["tests"]] == list(range(1201, 1191, -1)), repr(r)[:300])


def concurrent_burst(port, n, body, method="POST", path="/api/telemetry"):
    """n threads, each with its own connection, released at once."""
    barrier = threading.Barrier(n)
    results = [None] * n
    payload = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if body is not None else {}

    def worker(i):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            conn.connect()
            barrier.wait(timeout=60)
            conn.request(method, path, body=payload, headers=headers)
            r = conn.getresponse()
            results[i] = Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        except Exception as e:  # recorded as a failure below
            results[i] = e
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    return results


def scenario_concurrency(s):
    s.set_conf("concurrency", max_tests_per_ip_per_hour="0", max_stored_tests="100000")
    t0 = time.monotonic()
    rs = concurrent_burst(s.port, 64, GOOD)
    print(f"# concurrency: 64 concurrent submissions in {time.monotonic() - t0:.2f} s", flush=True)
    errors = [r for r in rs if not isinstance(r, Response)]
    check("concurrency: no connection errors", not errors, errors[:3])
    resp = [r for r in rs if isinstance(r, Response)]
    check("concurrency: no 5xx", not [r for r in resp if r.status >= 500], [r for r in resp if r.status >= 500][:3])
    ok = [r for r in resp if r.status == 200]
    check("concurrency: all 64 accepted", len(ok) == 64, [r for r in resp if r.status != 200][:3])
    got = {r.json["test_id"] for r in ok}
    check("concurrency: test_ids unique", len(got) == len(ok))
    r = s.get("/api/telemetry/recent?limit=1000")
    stored = {t["test_id"] for t in (r.json or {}).get("tests", [])}
    check("concurrency: every accepted test_id stored", got <= stored, sorted(got - stored)[:5])
    check("concurrency: count matches", s.total() == len(ok) and len(stored) == len(ok), (s.total(), len(ok)))

    # With a small max_stored_tests: exactly that many kept, the newest.
    s.set_conf("concurrency-small", max_tests_per_ip_per_hour="0", max_stored_tests="50")
    rs = concurrent_burst(s.port, 64, native_household())
    resp = [r for r in rs if isinstance(r, Response)]
    ok = [r for r in resp if r.status == 200]
    check("concurrency small: no 5xx, all accepted", len(ok) == 64 and len(resp) == 64,
          [r for r in rs if not isinstance(r, Response) or r.status != 200][:3])
    r = s.get("/api/telemetry/recent?limit=50")
    ids = [t["id"] for t in (r.json or {}).get("tests", [])]
    check("concurrency small: exactly max_stored_tests kept, the newest",
          s.total() == 50 and ids == list(range(64, 14, -1)), ids[:3] + ids[-3:])


# ------------------------------------------------------------------ shared hosting


SHARED_HTTPD_CONF = """\
ServerRoot "{root}"
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile "{root}/run/httpd.pid"
ErrorLog "{root}/logs/error.log"
LogLevel warn
{user}
LoadModule mpm_event_module {m}/mod_mpm_event.so
LoadModule authz_core_module {m}/mod_authz_core.so
LoadModule cgid_module {m}/mod_cgid.so
LoadModule mime_module {m}/mod_mime.so
LoadModule env_module {m}/mod_env.so
LoadModule dir_module {m}/mod_dir.so
LoadModule rewrite_module {m}/mod_rewrite.so
TypesConfig /etc/mime.types
ScriptSock "{root}/run/cgid.sock"
StartServers 1
ServerLimit 2
ThreadsPerChild 16
MaxRequestWorkers 32
DocumentRoot "{root}/www"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "{root}/www">
    Options None
    AllowOverride {override}
    Require all granted
</Directory>
"""


class SharedHost:
    """A second Apache like a shared host: one DocumentRoot, .htaccess is
    all the customer controls."""

    def __init__(self, base, override):
        self.root = os.path.join(base, "shared")
        self.override = override
        self.proc = None
        self.port = None
        self.conf = os.path.join(self.root, "lqos_test.conf")

    def setup(self, db):
        www = os.path.join(self.root, "www")
        os.makedirs(os.path.join(www, "lqos-bin"), exist_ok=True)
        for d in ("logs", "run", "state"):
            os.makedirs(os.path.join(self.root, d), exist_ok=True)
        # README, Shared hosting: each program into lqos-bin/ with a .cgi
        # suffix, and (for database_url) their PostgreSQL twins into
        # lqos-bin/pg/ with the same names.
        for sub in ("", "pg"):
            folder = os.path.join(BUILDDIR, "cgi-bin", sub)
            if not os.path.isdir(folder):
                continue
            os.makedirs(os.path.join(www, "lqos-bin", sub), exist_ok=True)
            for name in os.listdir(folder):
                src = os.path.join(folder, name)
                if name.startswith("lqos-") and os.path.isfile(src) and os.access(src, os.X_OK):
                    shutil.copy(src, os.path.join(www, "lqos-bin", sub, name + ".cgi"))
        shutil.copytree(os.path.join(SRCDIR, "htdocs"), www, dirs_exist_ok=True)
        with open(os.path.join(BUILDDIR, "apache", "htaccess")) as f:
            ht = f.read()
        ht, n = re.subn(r"(?m)^SetEnv LQOS_TEST_CONF .*$", f"SetEnv LQOS_TEST_CONF {self.conf}", ht)
        if n != 1:
            raise RuntimeError("apache/htaccess has no 'SetEnv LQOS_TEST_CONF' line")
        with open(os.path.join(www, ".htaccess"), "w") as f:
            f.write(ht)
        with open(self.conf, "w") as f:
            f.write(backend.conf_text(f'database_path="{self.root}/state/{db}.db"\n'
                                      'telemetry_api_key="shared-key"\nmax_tests_per_ip_per_hour="0"\n'))
        user = ""
        if os.geteuid() == 0:
            user = "User www-data\nGroup www-data"
            shutil.chown(os.path.join(self.root, "state"), "www-data", "www-data")
        for dirpath, dirnames, filenames in os.walk(self.root):
            os.chmod(dirpath, 0o755)
            for fn in filenames:
                p = os.path.join(dirpath, fn)
                os.chmod(p, 0o755 if fn.endswith(".cgi") else 0o644)
        if os.geteuid() == 0:
            shutil.chown(os.path.join(self.root, "state"), "www-data", "www-data")
        self.port = free_port()
        with open(os.path.join(self.root, "httpd.conf"), "w") as f:
            f.write(SHARED_HTTPD_CONF.format(root=self.root, port=self.port, user=user,
                                             m=apache_moddir(), override=self.override))

    def start(self):
        log = open(os.path.join(self.root, "logs", "stdout.log"), "ab")
        self.proc = subprocess.Popen([apache_bin(), "-f", os.path.join(self.root, "httpd.conf"),
                                      "-DFOREGROUND"], stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("shared-hosting apache exited: "
                                   + open(os.path.join(self.root, "logs", "stdout.log")).read()[-2000:])
            try:
                request(self.port, "GET", "/", timeout=2)
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("shared-hosting apache did not answer")

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self.proc = None

    def error_log(self):
        try:
            return open(os.path.join(self.root, "logs", "error.log"), errors="replace").read()
        except OSError:
            return ""


def scenario_shared_hosting(base):
    # "All" as the brief's shared host allows, and the exact set the
    # htaccess header documents as the minimum.
    for override in ("All", "FileInfo Options AuthConfig"):
        label = f"htaccess [{override}]"
        host = SharedHost(base, override)
        try:
            host.setup("shared-" + override.split()[0].lower())
            host.start()
            p = host.port
            r = request(p, "GET", "/")
            check(f"{label}: test page at /", r.status == 200
                  and (r.header("Content-Type") or "").startswith("text/html"), repr(r)[:200])
            r = request(p, "GET", "/api/sponsor")
            check(f"{label}: sponsor", r.status == 200 and r.json and r.json.get("success") is True,
                  repr(r) + host.error_log()[-1500:])
            r = request(p, "POST", "/api/telemetry", body=GOOD, headers={"User-Agent": "shared-ua"})
            check(f"{label}: submit", r.status == 200 and r.json and r.json.get("stored") is True
                  and TEST_ID_RE.match(r.json.get("test_id", "")), repr(r) + host.error_log()[-1500:])
            tid = r.json.get("test_id") if r.json else None
            r = request(p, "GET", "/api/telemetry/recent?limit=5", headers={"Authorization": "Bearer shared-key"})
            check(f"{label}: recent with Bearer", r.status == 200 and r.json
                  and [t["test_id"] for t in r.json.get("tests", [])] == [tid], repr(r))
            check_error(f"{label}: recent without key", request(p, "GET", "/api/telemetry/recent"), 401)
            check_error(f"{label}: recent wrong Bearer",
                        request(p, "GET", "/api/telemetry/recent", headers={"Authorization": "Bearer x"}), 401)
            r = request(p, "GET", "/api/telemetry/recent", headers={"X-API-Key": "shared-key"})
            check(f"{label}: recent with X-API-Key", r.status == 200, repr(r))
            r = request(p, "GET", "/api/telemetry/customer/127.0.0.1?limit=3",
                        headers={"Authorization": "Bearer shared-key"})
            check(f"{label}: customer with PATH_INFO", r.status == 200 and r.json
                  and r.json.get("client_ip") == "127.0.0.1" and r.json.get("total_tests") == 1, repr(r))
            r = request(p, "GET", "/api/telemetry/customer/0:0:0:0:0:0:0:1",
                        headers={"Authorization": "Bearer shared-key"})
            check(f"{label}: customer IPv6 PATH_INFO", r.status == 200 and r.json
                  and r.json.get("client_ip") == "::1", repr(r))
            check_error(f"{label}: customer bad ip",
                        request(p, "GET", "/api/telemetry/customer/nope",
                                headers={"Authorization": "Bearer shared-key"}), 400)
            r = request(p, "GET", "/api/telemetry/stats", headers={"Authorization": "Bearer shared-key"})
            check(f"{label}: stats", r.status == 200 and r.json and r.json.get("total_tests_stored") == 1
                  and (r.json.get("database_url") if backend.IS_PG else r.json.get("database_path", "")
                       .startswith(host.root)), repr(r))
            check_error(f"{label}: 404 route", request(p, "GET", "/api/nope"), 404)
            check_error(f"{label}: 404 route under telemetry", request(p, "GET", "/api/telemetry/nope"), 404)
            r = request(p, "GET", "/api/telemetry")
            check_error(f"{label}: 405", r, 405)
            check(f"{label}: 405 Allow", r.header("Allow") == "POST", r.headers)
            big = json.dumps(GOOD)[:-1] + " " * (MAX_BODY + 10) + "}"
            check_error(f"{label}: 413 from the program itself",
                        request(p, "POST", "/api/telemetry", body=big,
                                headers={"Content-Type": "application/json"}), 413)
            check_error(f"{label}: 415", request(p, "POST", "/api/telemetry", body=json.dumps(GOOD),
                                                 headers={"Content-Type": "text/plain"}), 415)
            r = request(p, "GET", "/lqos-bin/")
            check(f"{label}: no directory listing of lqos-bin", r.status in (403, 404), repr(r))
        except Exception as e:
            check(f"{label}: scenario ran", False, f"{e}\n{traceback.format_exc()}\n{host.error_log()[-2000:]}")
        finally:
            host.stop()
        shutil.rmtree(host.root, ignore_errors=True)


# ------------------------------------------------------------------ main


def main():
    missing = [n for n, ok in (("apache2", apache_bin()), ("mod_cgid", apache_moddir()),
                               ("curl", shutil.which("curl")), ("jq", shutil.which("jq"))) if not ok]
    if missing:
        print(f"SKIP: missing {', '.join(missing)}")
        print("RESULT: 0 passed, 0 failed")
        return 77
    if not os.path.isfile(os.path.join(BUILDDIR, "cgi-bin", "lqos-submit")):
        print(f"FAIL: {BUILDDIR}/cgi-bin/lqos-submit not built")
        print("RESULT: 0 passed, 1 failed")
        return 1

    why = backend.start()
    if why:
        return lq.skip(f"{backend.NAME} back end: {why}")
    t_start = time.monotonic()
    base = tempfile.mkdtemp(prefix="lqos-apache-it-", dir="/tmp")
    server = Server(base)
    scenarios = [
        scenario_zero_config_and_log_lines,
        scenario_endpoints,
        scenario_auth_with_key,
        scenario_no_key,
        scenario_errors,
        scenario_rate_limit,
        scenario_unavailable,
        scenario_guide_examples,
        scenario_retention,
        scenario_concurrency,
    ]
    try:
        try:
            pid = server.start()
            check("private Apache started", isinstance(pid, int) and pid > 0, pid)
        except Exception as e:
            check("private Apache started", False, str(e))
            scenarios = []
        for sc in scenarios:
            lq.run_timed(sc, server)
        if scenarios:
            log = server.log_since(0)
            crashes = [ln for ln in log.splitlines()
                       if re.search(r"AddressSanitizer|runtime error:|Segmentation|End of script output before headers", ln)]
            check("no crashed CGI in the Apache error log", not crashes, crashes[:5])
    finally:
        server.stop()
    t0 = time.monotonic()
    try:
        scenario_shared_hosting(base)
    except Exception as e:
        check("shared hosting ran", False, f"{e}\n{traceback.format_exc()}")
    print(f"# scenario_shared_hosting: {time.monotonic() - t0:.1f} s", flush=True)
    lq.remove_unless_failed(base)
    print(f"# total {time.monotonic() - t_start:.1f} s")
    return lq.finish()


if __name__ == "__main__":
    sys.exit(main())
