#!/usr/bin/env python3
"""Black-box tests of the CGI programs run as plain processes.

Each program in $LQOS_BUILDDIR/cgi-bin is started the way a web server
starts it: REQUEST_METHOD, QUERY_STRING, PATH_INFO, CONTENT_TYPE,
CONTENT_LENGTH, REMOTE_ADDR and HTTP_* in the environment, the body on
stdin, LQOS_TEST_CONF naming a config of the test's own (with its own
database). The CGI output (Status line, headers, JSON body) is parsed and
checked against SPEC section 4 and the guide: every endpoint, every error
status that can be produced without Apache, client addresses
(X-Forwarded-For, trusted_proxies, IPv4-mapped), the support API's keys,
the rows as the guide's jq filters read them, and the guide's log lines.

Environment: LQOS_SRCDIR, LQOS_BUILDDIR (set by make check).
Prints "RESULT: N passed, M failed" last; exits 1 on any failure, 77 when
the programs have not been built.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import backend  # noqa: E402
import lqostest as lq  # noqa: E402
from lqostest import BUILDDIR, SRCDIR, check  # noqa: E402
CGI_DIR = os.path.join(BUILDDIR, "cgi-bin")
FIXTURES = os.path.join(SRCDIR, "tests", "fixtures")

TIMESTAMP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
TEST_ID_RE = re.compile(r"^isp_\d+_\d+$")
JSON_TYPE = "application/json; charset=utf-8"
PROCESS_TIMEOUT = 20

def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


def fixture_json(name):
    return json.loads(fixture(name))


class Response:
    """One CGI answer: status, headers (lower-case names), body, stderr."""

    def __init__(self, out, err, returncode):
        self.raw = out
        self.stderr = err.decode("utf-8", "replace")
        self.returncode = returncode
        self.status = None
        self.reason = ""
        self.headers = {}
        self.body = b""
        self.json = None
        head, sep, body = out.partition(b"\r\n\r\n")
        if not sep:
            return
        self.body = body
        for line in head.split(b"\r\n"):
            name, _, value = line.decode("latin-1").partition(":")
            self.headers[name.strip().lower()] = value.strip()
        status = self.headers.get("status", "")
        m = re.match(r"^(\d{3}) (.+)$", status)
        if m:
            self.status = int(m.group(1))
            self.reason = m.group(2)
        try:
            self.json = json.loads(body)
        except ValueError:
            self.json = None

    def get(self, key, default=None):
        return self.json.get(key, default) if isinstance(self.json, dict) else default

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r} stderr={self.stderr[:300]!r}>"


class Site:
    """A config file and a database of the scenario's own."""

    def __init__(self, root, name, **keys):
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir)
        self.conf = os.path.join(self.dir, "lqos_test.conf")
        self.db = os.path.join(self.dir, "state", "isp_telemetry.db")
        self.keys = {"database_path": self.db}
        self.keys.update(keys)
        self.write()

    def write(self, raw=None):
        if raw is None:
            raw = "# written by cgi_blackbox.py\n" + "".join(f'{k}="{v}"\n' for k, v in self.keys.items())
        with open(self.conf, "w") as f:
            f.write(backend.conf_text(raw))   # + database_url on PostgreSQL

    def set(self, **keys):
        self.keys.update(keys)
        self.write()

    def run(self, prog, method="GET", query=None, path_info=None, body=None,
            content_type=None, content_length="auto", remote_addr="203.0.113.10",
            headers=None, env=None, cgi_dir=CGI_DIR):
        e = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "8000",
            "SCRIPT_NAME": "/api/" + prog,
            "REQUEST_METHOD": method,
            "QUERY_STRING": query or "",
            "LQOS_TEST_CONF": self.conf,
            # never start a real flusher from a test process
            "LQOS_WEBHOOK_FLUSH": "/bin/true",
        }
        if path_info is not None:
            e["PATH_INFO"] = path_info
        if remote_addr is not None:
            e["REMOTE_ADDR"] = remote_addr
        if content_type is not None:
            e["CONTENT_TYPE"] = content_type
        if body is not None and isinstance(body, str):
            body = body.encode()
        if content_length == "auto":
            if body is not None:
                e["CONTENT_LENGTH"] = str(len(body))
        elif content_length is not None:
            e["CONTENT_LENGTH"] = str(content_length)
        for name, value in (headers or {}).items():
            e["HTTP_" + name.upper().replace("-", "_")] = value
        e.update(env or {})
        p = subprocess.run([os.path.join(cgi_dir, "lqos-" + prog)], input=body or b"",
                           capture_output=True, env=e, timeout=PROCESS_TIMEOUT, cwd=self.dir)
        r = Response(p.stdout, p.stderr, p.returncode)
        # a crash, a sanitizer report or a leak (LeakSanitizer exits non-zero)
        check(f"lqos-{prog} {method} exits cleanly",
              p.returncode == 0 and "Sanitizer" not in r.stderr and "runtime error" not in r.stderr,
              f"exit {p.returncode}: {r.stderr[-2000:]}")
        check(f"lqos-{prog} {method} answers with a Status line", r.status is not None, repr(r))
        return r

    def submit(self, payload, remote_addr="203.0.113.10", **kw):
        if not isinstance(payload, (bytes, str)):
            payload = json.dumps(payload)
        kw.setdefault("content_type", "application/json")
        return self.run("submit", method="POST", body=payload, remote_addr=remote_addr, **kw)

    def rows(self, where="1 = 1", args=()):
        if not backend.exists(self.db):
            return []
        return backend.dict_rows(self.db, f"SELECT * FROM test_results WHERE {where} ORDER BY id", args)

    def count(self):
        return len(self.rows())


def is_error(r, status):
    """A SPEC section 4 error: status, JSON content type, {success:false,error}."""
    return (r.status == status and r.headers.get("content-type") == JSON_TYPE
            and isinstance(r.json, dict) and r.json.get("success") is False
            and isinstance(r.json.get("error"), str) and len(r.json["error"]) > 10)


def check_error(name, r, status, mentions=None):
    ok = check(f"{name}: {status} JSON error", is_error(r, status), repr(r))
    if ok and mentions:
        for m in ([mentions] if isinstance(mentions, str) else mentions):
            check(f"{name}: error mentions {m!r}", m in r.json["error"], r.json["error"])
    return ok


# ---------------------------------------------------------------- scenarios

def t_notfound(root):
    s = Site(root, "notfound")
    for method in ("GET", "POST", "DELETE"):
        r = s.run("notfound", method=method, path_info="/api/nope")
        check_error(f"notfound {method}", r, 404, "/api/telemetry/recent")
        check("notfound: reason phrase", r.reason == "Not Found", r.reason)
        check("notfound: no-store", r.headers.get("cache-control") == "no-store", r.headers)
    check("notfound: nothing stored", not backend.exists(s.db))


def t_sponsor(root):
    s = Site(root, "sponsor", sponsor_name="Your ISP Name", sponsor_url="https://your-isp.com",
             sponsor_city="Your City")
    r = s.run("sponsor")
    check("sponsor: 200", r.status == 200 and r.headers.get("content-type") == JSON_TYPE, repr(r))
    check("sponsor: values from the config",
          r.get("sponsor_name") == "Your ISP Name" and r.get("sponsor_url") == "https://your-isp.com"
          and r.get("sponsor_city") == "Your City", repr(r))
    r = s.run("sponsor", method="POST", body="{}", content_type="application/json")
    check_error("sponsor POST", r, 405)
    check("sponsor POST: Allow: GET", r.headers.get("allow") == "GET", r.headers)
    # zero configuration: no file at all
    os.unlink(s.conf)
    r = s.run("sponsor")
    check("sponsor without config: 200 with nulls",
          r.status == 200 and r.json is not None and r.get("sponsor_name", 0) is None
          and r.get("sponsor_url", 0) is None and r.get("sponsor_city", 0) is None, repr(r))


def t_submit_formats(root):
    s = Site(root, "formats", server_name="blackbox-server")
    ua = "Mozilla/5.0 (X11; Linux x86_64) blackbox"
    cases = [
        ("native_single.json", "single_user", {"overall": "C", "download": "B", "upload": "C",
                                               "bidirectional": "C", "single_user_score": 47}),
        ("native_household.json", "virtual_household", {"overall": "B", "alex": "A+", "sarah": "A",
                                                        "jake": "A", "computer": "C",
                                                        "household_score": 60}),
        ("original_single.json", "single_user", {"overall": "C", "single_user_score": 47}),
        ("original_household.json", "virtual_household", {"overall": "B", "alex": "A", "sarah": "B",
                                                          "jake": "A+", "computer": "C",
                                                          "household_score": 60}),
    ]
    ids = set()
    for name, test_type, grades in cases:
        r = s.submit(fixture(name), headers={"User-Agent": ua})
        ok = check(f"submit {name}: 200", r.status == 200 and r.get("success") is True, repr(r))
        if not ok:
            continue
        check(f"submit {name}: JSON content type", r.headers.get("content-type") == JSON_TYPE)
        check(f"submit {name}: test_id", TEST_ID_RE.match(r.get("test_id") or ""), repr(r))
        check(f"submit {name}: timestamp", TIMESTAMP_RE.match(r.get("timestamp") or ""), repr(r))
        check(f"submit {name}: stored", r.get("stored") is True, repr(r))
        check(f"submit {name}: client_ip", r.get("client_ip") == "203.0.113.10", repr(r))
        check(f"submit {name}: test_type", r.get("test_type") == test_type, repr(r))
        got = r.get("grades") or {}
        for k, v in grades.items():
            check(f"submit {name}: grades.{k}", got.get(k) == v, f"{got.get(k)!r} != {v!r}")
        ids.add(r.get("test_id"))
        rows = s.rows("test_id = ?", (r.get("test_id"),))
        if check(f"submit {name}: one row", len(rows) == 1, rows):
            row = rows[0]
            check(f"submit {name}: row client_ip", row["client_ip"] == "203.0.113.10", row)
            check(f"submit {name}: row user_agent", row["user_agent"] == ua, row)
            check(f"submit {name}: row test_type", row["test_type"] == test_type, row)
            check(f"submit {name}: row overall_grade", row["overall_grade"] == grades["overall"], row)
            check(f"submit {name}: row timestamp", row["timestamp"] == r.get("timestamp"), row)
    check("submit: unique test ids", len(ids) == len(cases), ids)
    row = s.rows("test_type = 'single_user'")[0]
    check("native single: row numbers", row["download_mbps"] == 115.6 and row["upload_mbps"] == 23.4
          and row["download_latency_increase_ms"] == 45.2 and row["single_user_score"] == 47, row)
    check("native single: server name from the result",
          row["test_server_name"] == "speedtest-fixture", row)
    row = s.rows("test_type = 'virtual_household'")[-1]
    check("original household: server name inside results",
          row["test_server_name"] == "original-household-fixture", row)
    check("original household: letters stored",
          (row["alex_grade"], row["sarah_grade"], row["jake_grade"], row["computer_grade"])
          == ("A", "B", "A+", "C"), row)
    # content type with parameters, user agent cleaned of control bytes
    r = s.submit(fixture("native_single.json"), content_type="application/json; charset=UTF-8",
                 headers={"User-Agent": "bad\x01agent\x7f"})
    check("submit: charset parameter accepted", r.status == 200, repr(r))
    if r.status == 200:
        row = s.rows("test_id = ?", (r.get("test_id"),))[0]
        check("submit: control characters removed from User-Agent",
              row["user_agent"] == "bad?agent?", row["user_agent"])


def t_telemetry_disabled(root):
    s = Site(root, "optout")
    doc = fixture_json("original_single.json")
    doc["telemetry_enabled"] = False
    r = s.submit(doc)
    check("telemetry_enabled false: 200 with grades",
          r.status == 200 and r.get("success") is True and (r.get("grades") or {}).get("overall") == "C",
          repr(r))
    check("telemetry_enabled false: not stored", r.get("stored") is False and s.count() == 0, repr(r))


def t_submit_errors(root):
    s = Site(root, "errors")
    good = fixture("native_single.json")
    # 405
    for method in ("GET", "PUT", "HEAD", "DELETE"):
        r = s.run("submit", method=method)
        check_error(f"submit {method}", r, 405, "POST")
        check(f"submit {method}: Allow: POST", r.headers.get("allow") == "POST", r.headers)
    # 415
    for ct in ("text/plain", "application/x-www-form-urlencoded", "application/jsonx", None):
        r = s.submit(good, content_type=ct)
        check_error(f"submit content type {ct}", r, 415, "application/json")
    # 411
    r = s.submit(good, content_length=None)
    check_error("submit without Content-Length", r, 411, "Content-Length")
    # 413: over 64 KiB, whether or not the body is really that long
    big = b" " * (64 * 1024 + 1)
    r = s.submit(big)
    check_error("submit 64 KiB + 1", r, 413)
    r = s.submit(good, content_length=10 ** 9)
    check_error("submit Content-Length 1e9", r, 413)
    # exactly 64 KiB of valid JSON is accepted
    padded = good.rstrip()
    padded = padded + b" " * (64 * 1024 - len(padded))
    r = s.submit(padded)
    check("submit exactly 64 KiB: 200", r.status == 200, repr(r))
    n = s.count()
    # 400: bad Content-Length, short body, bad JSON of every kind
    bad = [
        ("Content-Length not a number", dict(payload=good, content_length="12abc"), "Content-Length"),
        ("negative Content-Length", dict(payload=good, content_length="-5"), "Content-Length"),
        ("empty body", dict(payload=b"", content_length=0), "empty"),
        ("short body", dict(payload=good[:20], content_length=len(good)), "ended after"),
        ("not JSON", dict(payload=b"test_type=single_user"), "JSON"),
        ("truncated JSON", dict(payload=good[:-5]), "JSON"),
        ("not an object", dict(payload=b"[1, 2, 3]"), "object"),
        ("duplicate keys", dict(payload=b'{"test_type": "single_user", "test_type": "single_user"}'),
         "duplicate"),
        ("1e400", dict(payload=good.replace(b"115.6", b"1e400")), "JSON"),
        ("NaN", dict(payload=good.replace(b"115.6", b"NaN")), "JSON"),
        ("wrong type", dict(payload=good.replace(b"115.6", b'"115.6"')), "download.throughput_mbps"),
        ("out of range", dict(payload=good.replace(b"45.2", b"60001")), "download.latency_increase_ms"),
        ("missing field", dict(payload=json.dumps({"test_type": "single_user"})), "missing field"),
        ("bad test_type", dict(payload=json.dumps({"test_type": "gaming"})), "test_type"),
        ("bad letter", dict(payload=fixture("original_household.json").replace(b'"A+"', b'"A++"')),
         "jake_performance"),
        ("invalid UTF-8", dict(payload=good.replace(b"speedtest-fixture", b"speed\xfftest")), "JSON"),
        ("deep nesting", dict(payload=b"[" * 5000 + b"]" * 5000), "JSON"),
    ]
    for name, kw, mention in bad:
        payload = kw.pop("payload")
        r = s.submit(payload, **kw)
        check_error(f"submit {name}", r, 400, mention)
    check("bad requests store nothing", s.count() == n, s.count())
    # no client address at all
    r = s.submit(good, remote_addr=None)
    check_error("submit without REMOTE_ADDR", r, 400, "address")
    check("submit without address stores nothing", s.count() == n)


def t_rate_limit(root):
    s = Site(root, "ratelimit", max_tests_per_ip_per_hour="2")
    body = fixture("native_household.json")
    for i in range(2):
        r = s.submit(body, remote_addr="198.51.100.50")
        check(f"rate limit: submission {i + 1} accepted", r.status == 200, repr(r))
    r = s.submit(body, remote_addr="198.51.100.50")
    check_error("rate limit: third", r, 429, "limit 2")
    retry = r.headers.get("retry-after", "")
    check("rate limit: Retry-After in seconds", retry.isdigit() and 3500 <= int(retry) <= 3601,
          r.headers)
    check("rate limit: grades still returned", (r.get("grades") or {}).get("overall") == "B", repr(r))
    check("rate limit: nothing stored", s.count() == 2)
    # mapped spelling of the same client is the same client
    r = s.submit(body, remote_addr="::ffff:198.51.100.50")
    check("rate limit: mapped address counts as the same", r.status == 429, repr(r))
    r = s.submit(body, remote_addr="198.51.100.51")
    check("rate limit: other clients unaffected", r.status == 200, repr(r))
    # 0 turns it off
    s.set(max_tests_per_ip_per_hour="0")
    r = s.submit(body, remote_addr="198.51.100.50")
    check("rate limit 0: off", r.status == 200, repr(r))


def t_broken_config(root):
    s = Site(root, "broken")
    s.write(raw='# an operator typo\nsponsor_name="Broken ISP"\ntelemetry_api_key="k"\n'
                f'database_path="{s.db}"\nmax_stored_tests=lots\n')
    for prog, path in (("recent", None), ("stats", None), ("customer", "/192.0.2.1")):
        r = s.run(prog, path_info=path, remote_addr="127.0.0.1",
                  headers={"Authorization": "Bearer k"})
        check_error(f"broken config: {prog} fails closed", r, 503, ["lqos_test.conf:5", "max_stored_tests"])
        check(f"broken config: {prog} logs file and line",
              "lqos_test.conf:5" in r.stderr and "configuration" in r.stderr, r.stderr)
    r = s.submit(fixture("native_single.json"))
    check("broken config: submit 503", r.status == 503 and r.get("success") is False, repr(r))
    check("broken config: submit still grades", (r.get("grades") or {}).get("overall") == "C", repr(r))
    check("broken config: submit Retry-After", r.headers.get("retry-after", "").isdigit(), r.headers)
    check("broken config: nothing stored", not backend.exists(s.db) or s.count() == 0)
    r = s.run("sponsor")
    check("broken config: public sponsor endpoint still answers", r.status == 200, repr(r))


def t_unwritable_database(root):
    s = Site(root, "unwritable")
    if backend.IS_PG:
        # PostgreSQL's equivalent: a database that cannot be reached.
        s.set(database_url=backend.url_for(s.db).replace(backend.db_name(s.db), "lqos_no_such_database"))
        r = s.submit(fixture("native_single.json"))
        check("unreachable db: submit 503", r.status == 503 and r.get("success") is False, repr(r))
        check("unreachable db: grades still returned", (r.get("grades") or {}).get("overall") == "C", repr(r))
        check("unreachable db: Retry-After", r.headers.get("retry-after", "").isdigit(), r.headers)
        check("unreachable db: logged with the reason", "lqos_no_such_database" in r.stderr, r.stderr)
        r = s.run("stats", remote_addr="127.0.0.1")
        check_error("unreachable db: stats", r, 503, "lqos_no_such_database")
        backend.sqlite_only("unwritable db: a file or directory in the way of database_path",
                            "PostgreSQL keeps no database file")
        return
    with open(os.path.join(s.dir, "afile"), "w") as f:
        f.write("a file where a directory should be\n")
    s.set(database_path=os.path.join(s.dir, "afile", "isp_telemetry.db"))
    r = s.submit(fixture("native_single.json"))
    check("unwritable db: submit 503", r.status == 503 and r.get("success") is False, repr(r))
    check("unwritable db: error says writable", "writable" in (r.get("error") or ""), repr(r))
    check("unwritable db: grades still returned", (r.get("grades") or {}).get("overall") == "C", repr(r))
    check("unwritable db: Retry-After", r.headers.get("retry-after", "").isdigit(), r.headers)
    check("unwritable db: logged", "writable" in r.stderr, r.stderr)
    r = s.run("stats", remote_addr="127.0.0.1")
    check_error("unwritable db: stats", r, 503, "writable")
    # a directory where the database file should be
    os.makedirs(os.path.join(s.dir, "adir"))
    s.set(database_path=os.path.join(s.dir, "adir"))
    r = s.submit(fixture("native_single.json"))
    check("database path is a directory: 503", r.status == 503 and "writable" in (r.get("error") or ""),
          repr(r))
    if os.geteuid() != 0:
        ro = os.path.join(s.dir, "ro")
        os.makedirs(ro)
        os.chmod(ro, 0o555)
        s.set(database_path=os.path.join(ro, "isp_telemetry.db"))
        r = s.submit(fixture("native_single.json"))
        check("read-only directory: 503", r.status == 503 and "writable" in (r.get("error") or ""),
              repr(r))
        os.chmod(ro, 0o755)


def t_postgresql_twin(root):
    """database_url set: the storage programs (SQLite only, no libpq) hand
    the request to their twin in pg/ next to them; a missing or wrong twin
    is a clear 503, never a crash or a row stored in SQLite."""
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    s = Site(root, "pgtwin", database_url="postgresql://lqos@127.0.0.1:1/lqos",
             telemetry_api_key="k")
    if os.access(os.path.join(CGI_DIR, "pg", "lqos-submit"), os.X_OK):
        r = s.submit(fixture("native_single.json"))
        check_error("twin: submit reaches the PostgreSQL back end", r, 503,
                    ["PostgreSQL", "127.0.0.1"])
        check("twin: submit still grades", (r.get("grades") or {}).get("overall") == "C", repr(r))
        r = s.run("stats", remote_addr="127.0.0.1", headers={"Authorization": "Bearer k"})
        check_error("twin: stats reaches the PostgreSQL back end", r, 503, "PostgreSQL")
    else:
        check(f"{CGI_DIR}/pg/lqos-submit built", False)
    # An install that left out pg/.
    alone = os.path.join(root, "pgtwin-bin")
    os.makedirs(alone)
    for prog in ("submit", "stats"):
        shutil.copy(os.path.join(CGI_DIR, "lqos-" + prog), alone)
    r = s.submit(fixture("native_single.json"), cgi_dir=alone)
    check_error("twin missing: submit", r, 503, [os.path.join(alone, "pg", "lqos-submit"),
                                                  "make install"])
    check("twin missing: grades still returned", (r.get("grades") or {}).get("overall") == "C",
          repr(r))
    check("twin missing: logged", "pg/lqos-submit" in r.stderr, r.stderr)
    r = s.run("stats", remote_addr="127.0.0.1", headers={"Authorization": "Bearer k"},
              cgi_dir=alone)
    check_error("twin missing: stats", r, 503, "pg/lqos-stats")
    # pg/ holding the SQLite-only program again: refused, not a loop.
    os.makedirs(os.path.join(alone, "pg"))
    shutil.copy(os.path.join(alone, "lqos-submit"), os.path.join(alone, "pg"))
    r = s.submit(fixture("native_single.json"), cgi_dir=alone)
    check_error("twin without the back end: submit", r, 503, "has none")
    check("twin: nothing stored in SQLite", not os.path.exists(s.db))


def t_client_addresses(root):
    s = Site(root, "addresses")
    body = fixture("native_single.json")
    # spoofed header from an untrusted peer
    r = s.submit(body, remote_addr="203.0.113.7", headers={"X-Forwarded-For": "198.51.100.99"})
    check("untrusted XFF ignored (answer)", r.get("client_ip") == "203.0.113.7", repr(r))
    check("untrusted XFF ignored (stored)", [x["client_ip"] for x in s.rows()] == ["203.0.113.7"], s.rows())
    # no trusted proxies: even a private peer's header is ignored
    r = s.submit(body, remote_addr="10.1.1.1", headers={"X-Forwarded-For": "198.51.100.99"})
    check("XFF ignored without trusted_proxies", r.get("client_ip") == "10.1.1.1", repr(r))
    s.set(trusted_proxies="10.0.0.0/8, 2001:db8:ffff::/48")
    r = s.submit(body, remote_addr="10.1.1.1", headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.23"})
    check("trusted proxy: right-most address", r.get("client_ip") == "198.51.100.23", repr(r))
    r = s.submit(body, remote_addr="10.1.1.1",
                 headers={"X-Forwarded-For": "198.51.100.24, 2001:db8:ffff::5, 10.2.2.2"})
    check("trusted proxy chain", r.get("client_ip") == "198.51.100.24", repr(r))
    r = s.submit(body, remote_addr="10.1.1.1", headers={"X-Forwarded-For": "<script>"})
    check("trusted proxy with garbage XFF: the proxy", r.get("client_ip") == "10.1.1.1", repr(r))
    # A local proxy forwarding an unusable X-Forwarded-For: its client is
    # unknown, so the loopback-only support API (no key) must refuse it,
    # while the proxy's own requests (no header) still get in.
    local = Site(root, "local-proxy", trusted_proxies="127.0.0.1")
    r = local.run("stats", remote_addr="127.0.0.1", headers={"X-Forwarded-For": "garbage"})
    check("local proxy + garbage XFF: no loopback exemption", r.status == 401, repr(r))
    r = local.run("stats", remote_addr="127.0.0.1", headers={"X-Forwarded-For": "198.51.100.30"})
    check("local proxy + remote client: no loopback exemption", r.status == 401, repr(r))
    r = local.run("stats", remote_addr="127.0.0.1")
    check("local proxy itself, no XFF: loopback allowed", r.status == 200, repr(r))
    r = s.submit(body, remote_addr="203.0.113.8", headers={"X-Forwarded-For": "198.51.100.25"})
    check("untrusted peer with trusted_proxies set", r.get("client_ip") == "203.0.113.8", repr(r))
    # IPv4-mapped IPv6 peer stored as IPv4; IPv6 stored canonically
    r = s.submit(body, remote_addr="::ffff:192.0.2.44")
    check("mapped REMOTE_ADDR stored as IPv4", r.get("client_ip") == "192.0.2.44"
          and len(s.rows("client_ip = '192.0.2.44'")) == 1, repr(r))
    r = s.submit(body, remote_addr="2001:DB8:0:0::0044")
    check("IPv6 REMOTE_ADDR canonical", r.get("client_ip") == "2001:db8::44"
          and len(s.rows("client_ip = '2001:db8::44'")) == 1, repr(r))
    stored = {x["client_ip"] for x in s.rows()}
    check("spoofed address never stored", "198.51.100.99" not in stored and "6.6.6.6" not in stored
          and "198.51.100.25" not in stored, stored)


def t_support_auth(root):
    s = Site(root, "auth")
    s.submit(fixture("native_single.json"))
    # no key configured: loopback only
    for addr in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        r = s.run("stats", remote_addr=addr)
        check(f"no key: {addr} allowed", r.status == 200 and r.get("success") is True, repr(r))
    for addr in ("203.0.113.5", "10.0.0.1", "2001:db8::1"):
        r = s.run("recent", remote_addr=addr)
        check_error(f"no key: {addr} refused", r, 401, ["telemetry_api_key", "localhost"])
        check(f"no key: {addr} WWW-Authenticate", r.headers.get("www-authenticate", "").startswith("Bearer"),
              r.headers)
        check(f"no key: {addr} gets no customer IPs", b"203.0.113.10" not in r.body)
    # a spoofed header does not make a remote client local
    r = s.run("recent", remote_addr="203.0.113.5", headers={"X-Forwarded-For": "127.0.0.1"})
    check_error("no key: XFF 127.0.0.1 from remote peer", r, 401)

    key = "your-secure-api-key-here"
    s.set(telemetry_api_key=key)
    ways = [
        ("Bearer", dict(headers={"Authorization": "Bearer " + key})),
        ("bearer lower case", dict(headers={"Authorization": "bearer " + key})),
        ("X-API-Key", dict(headers={"X-API-Key": key})),
        ("?api_key", dict(query="limit=5&api_key=" + key)),
    ]
    for name, kw in ways:
        for prog, path in (("recent", None), ("stats", None), ("customer", "/203.0.113.10")):
            r = s.run(prog, remote_addr="198.51.100.1", path_info=path, **kw)
            check(f"key via {name}: {prog} 200", r.status == 200 and r.get("success") is True, repr(r))
    wrong = [
        ("wrong Bearer", dict(headers={"Authorization": "Bearer nope"})),
        ("last byte differs", dict(headers={"X-API-Key": key[:-1] + "f"})),
        ("wrong ?api_key", dict(query="api_key=nope")),
    ]
    for name, kw in wrong:
        r = s.run("recent", remote_addr="198.51.100.1", **kw)
        check_error(f"{name}: 401", r, 401, ["Authorization: Bearer", "X-API-Key", "api_key"])
    r = s.run("stats", remote_addr="198.51.100.1")
    check_error("missing key: 401", r, 401, "Authorization: Bearer")
    r = s.run("stats", remote_addr="127.0.0.1")
    check_error("missing key from loopback: still 401 once a key is set", r, 401)
    s.set(allow_query_api_key="false")
    r = s.run("recent", remote_addr="198.51.100.1", query="api_key=" + key)
    check_error("allow_query_api_key=false", r, 401)
    r = s.run("recent", remote_addr="198.51.100.1", headers={"X-API-Key": key})
    check("allow_query_api_key=false: headers still work", r.status == 200, repr(r))
    # environment fallback when the file sets no key
    del s.keys["telemetry_api_key"]
    s.set()
    env = {"LIBREQOS_TELEMETRY_API_KEY": "env-key"}
    r = s.run("stats", remote_addr="198.51.100.1", headers={"Authorization": "Bearer env-key"}, env=env)
    check("LIBREQOS_TELEMETRY_API_KEY fallback", r.status == 200, repr(r))
    r = s.run("stats", remote_addr="127.0.0.1", env=env)
    check_error("LIBREQOS_TELEMETRY_API_KEY: key required", r, 401)
    # support endpoints are GET only
    r = s.run("recent", method="POST", remote_addr="127.0.0.1", body="{}", content_type="application/json")
    check_error("recent POST", r, 405)
    check("recent POST: Allow: GET", r.headers.get("allow") == "GET", r.headers)
    for prog in ("stats", "customer"):
        r = s.run(prog, method="DELETE", remote_addr="127.0.0.1", path_info="/192.0.2.1")
        check(f"{prog} DELETE: 405 Allow: GET", is_error(r, 405) and r.headers.get("allow") == "GET", repr(r))


def t_queries(root):
    s = Site(root, "queries", max_stored_tests="100")
    plan = [("192.168.1.100", "native_single.json"), ("192.168.1.101", "native_household.json"),
            ("192.168.1.100", "original_household.json"), ("2001:db8::100", "original_single.json"),
            ("192.168.1.100", "native_single.json")]
    ids = []
    for ip, name in plan:
        r = s.submit(fixture(name), remote_addr=ip)
        ids.append(r.get("test_id"))
    # one bad (D/F) single-user result for the guide's filter
    doc = fixture_json("native_single.json")
    for phase in ("download", "upload", "bidirectional"):
        doc[phase]["latency_increase_ms"] = 450
    r = s.submit(doc, remote_addr="192.168.1.102")
    ids.append(r.get("test_id"))
    local = dict(remote_addr="127.0.0.1")

    r = s.run("recent", **local)
    ok = check("recent: 200", r.status == 200 and r.get("success") is True, repr(r))
    tests = r.get("tests") or []
    check("recent: default limit 50", r.get("limit") == 50, repr(r))
    check("recent: all rows", r.get("total") == 6 and len(tests) == 6, repr(r))
    check("recent: newest first", [t.get("test_id") for t in tests] == ids[::-1],
          [t.get("test_id") for t in tests])
    if ok and tests:
        t = tests[0]
        for col in ("id", "test_id", "timestamp", "client_ip", "user_agent", "test_type",
                    "download_mbps", "upload_mbps", "baseline_latency_ms",
                    "download_latency_increase_ms", "upload_latency_increase_ms",
                    "bidirectional_latency_increase_ms", "single_user_score", "download_grade",
                    "upload_grade", "bidirectional_grade", "overall_grade", "household_score",
                    "alex_grade", "sarah_grade", "jake_grade", "computer_grade", "test_server_name",
                    "test_duration_seconds"):
            check(f"recent: row has {col}", col in t, sorted(t))
        # the guide's jq filters read these as strings and numbers
        check("jq: overall_grade is a string", all(isinstance(x.get("overall_grade"), str) for x in tests),
              [x.get("overall_grade") for x in tests])
        check("jq: download_mbps is a number",
              all(isinstance(x.get("download_mbps"), (int, float)) for x in tests), tests)
        check("jq: scores are integers",
              all(isinstance(x.get("single_user_score"), int) for x in tests if x["test_type"] == "single_user")
              and all(isinstance(x.get("household_score"), int) for x in tests
                      if x["test_type"] == "virtual_household"), tests)
        check("jq: timestamp format", all(TIMESTAMP_RE.match(x.get("timestamp", "")) for x in tests), tests)
        bad = [x for x in tests if x.get("overall_grade") in ("D", "F")]
        check("jq: select(.overall_grade == \"D\" or .overall_grade == \"F\")",
              [x["client_ip"] for x in bad] == ["192.168.1.102"], bad)
        hh = [x for x in tests if x.get("test_type") == "virtual_household"]
        check("jq: select(.test_type == \"virtual_household\")", len(hh) == 2
              and all(isinstance(x.get("alex_grade"), str) for x in hh), hh)
    r = s.run("recent", query="limit=2", **local)
    check("recent?limit=2", r.status == 200 and r.get("limit") == 2 and len(r.get("tests") or []) == 2
          and r.json["tests"][0].get("test_id") == ids[-1], repr(r))
    for q in ("limit=0", "limit=-1", "limit=abc", "limit=101", "limit=1e3", "limit=", "limit=%zz",
              "limit=99999999999999999999"):
        r = s.run("recent", query=q, **local)
        check_error(f"recent?{q}", r, 400, "limit")
    r = s.run("recent", query="limit=100", **local)
    check("recent?limit=max_stored_tests", r.status == 200, repr(r))

    r = s.run("customer", path_info="/192.168.1.100", **local)
    tests = r.get("tests") or []
    check("customer: 200", r.status == 200 and r.get("success") is True and r.get("client_ip") == "192.168.1.100",
          repr(r))
    check("customer: own tests only, newest first",
          [t.get("test_id") for t in tests] == [ids[4], ids[2], ids[0]], [t.get("test_id") for t in tests])
    check("customer: total_tests", r.get("total_tests") == 3, repr(r))
    check("customer: default limit 20", r.get("limit") == 20, repr(r))
    summary = [{k: t.get(k) for k in ("timestamp", "test_type", "overall_grade", "download_mbps",
                                       "upload_mbps")} for t in tests]
    check("jq: {timestamp, test_type, overall_grade, download_mbps, upload_mbps}",
          all(isinstance(x["timestamp"], str) and isinstance(x["overall_grade"], str) for x in summary)
          and isinstance(summary[0]["download_mbps"], (int, float)), summary)
    r = s.run("customer", path_info="/192.168.1.100", query="limit=1", **local)
    check("customer?limit=1", r.status == 200 and len(r.get("tests") or []) == 1 and r.get("total_tests") == 3,
          repr(r))
    r = s.run("customer", path_info="/2001:DB8:0::100", **local)
    check("customer: IPv6 in any spelling", r.status == 200 and r.get("client_ip") == "2001:db8::100"
          and r.get("total_tests") == 1, repr(r))
    r = s.run("customer", path_info="/::ffff:192.168.1.101", **local)
    check("customer: mapped spelling finds the IPv4 customer", r.get("total_tests") == 1, repr(r))
    r = s.run("customer", path_info="/10.9.9.9", **local)
    check("customer: unknown address: empty", r.status == 200 and r.get("tests") == [] and r.get("total_tests") == 0,
          repr(r))
    for path in ("/999.1.1.1", "/not-an-ip", "/192.168.1.100/extra", "/", None, "/fe80::1%eth0",
                 "/\xff\xfe"):
        r = s.run("customer", path_info=path, **local)
        check_error(f"customer {path!r}", r, 400)
    r = s.run("customer", path_info="/192.168.1.100", query="limit=0", **local)
    check_error("customer?limit=0", r, 400, "limit")

    r = s.run("stats", **local)
    check("stats: 200", r.status == 200 and r.get("success") is True, repr(r))
    expect = {"total_tests_stored": 6, "unique_client_ips": 4, "max_stored_tests": 100,
              "webhook_enabled": False, "webhook_url": None}
    # Where the store is: its file on SQLite, its URL (no password in it
    # here) on PostgreSQL.
    if backend.IS_PG:
        expect.update({"database": "postgresql", "database_url": backend.url_for(s.db)})
    else:
        expect.update({"database": "sqlite", "database_path": s.db})
    for k, v in expect.items():
        check(f"stats: {k}", r.get(k, "absent") == v, f"{r.get(k, 'absent')!r} != {v!r}")
    check("stats: last_test_time", r.get("last_test_time") == (s.rows()[-1]["timestamp"]), repr(r))


def t_retention(root):
    s = Site(root, "retention", max_stored_tests="3")
    ids = []
    for i in range(5):
        r = s.submit(fixture("native_single.json"), remote_addr=f"192.0.2.{i + 1}")
        ids.append(r.get("test_id"))
    check("retention: exactly max_stored_tests rows", s.count() == 3, s.count())
    r = s.run("recent", remote_addr="127.0.0.1")
    check("retention: the newest kept", [t.get("test_id") for t in r.get("tests") or []] == ids[:1:-1],
          repr(r))
    r = s.run("stats", remote_addr="127.0.0.1")
    check("retention: stats total", r.get("total_tests_stored") == 3, repr(r))


def t_log_lines(root):
    s = Site(root, "logs")
    r = s.submit(fixture("native_single.json"))
    check("log: first request says local storage only",
          r.stderr.count("ISP telemetry: local storage only") == 1, r.stderr)
    r = s.submit(fixture("native_single.json"), remote_addr="203.0.113.11")
    check("log: not on the next request", "ISP telemetry:" not in r.stderr, r.stderr)
    r = s.run("stats", remote_addr="127.0.0.1")
    check("log: not on another program either", "ISP telemetry:" not in r.stderr, r.stderr)
    url = "https://your-portal.example.com/api/speedtest-results"
    s.set(webhook_url=url, webhook_secret="shh-its-a-secret", webhook_prompt_delivery="false")
    r = s.run("stats", remote_addr="127.0.0.1")
    check("log: webhook line after the config gains webhook_url",
          r.stderr.count(f"ISP telemetry: local storage + webhook to {url}") == 1, r.stderr)
    check("stats: webhook_enabled and url", r.get("webhook_enabled") is True and r.get("webhook_url") == url,
          repr(r))
    check("stats: the secret is never shown", b"shh-its-a-secret" not in r.raw, r.raw[:500])
    r = s.run("stats", remote_addr="127.0.0.1")
    check("log: webhook line once", "ISP telemetry:" not in r.stderr, r.stderr)
    # credentials in the URL stay out of the log and the API
    s.set(webhook_url="https://user:p4ssw0rd@portal.example.com/hook")
    r = s.run("stats", remote_addr="127.0.0.1")
    check("log: change logged again", "ISP telemetry: local storage + webhook to" in r.stderr, r.stderr)
    check("log: URL password redacted", "p4ssw0rd" not in r.stderr and b"p4ssw0rd" not in r.raw,
          r.stderr + r.raw.decode("latin-1")[:300])
    # and back to local storage
    del s.keys["webhook_url"]
    s.set()
    r = s.run("stats", remote_addr="127.0.0.1")
    check("log: back to local storage only", "ISP telemetry: local storage only" in r.stderr, r.stderr)


def t_upload_sink(root):
    s = Site(root, "upload")
    payload = os.urandom(200000)
    r = s.run("upload", method="POST", body=payload, content_type="application/octet-stream")
    check("upload: 200 with byte count", r.status == 200 and r.get("bytes") == len(payload), repr(r))
    r = s.run("upload", method="POST", body=payload[:100], content_length=1000,
              content_type="application/octet-stream")
    check_error("upload: short body", r, 400)
    r = s.run("upload", method="GET")
    check_error("upload: GET", r, 405)
    check("upload: Allow: POST,PUT", r.headers.get("allow") == "POST,PUT", r.headers)
    # networkQuality clients may upload with PUT, of any size.
    r = s.run("upload", method="PUT", body=payload, content_type="application/octet-stream")
    check("upload: PUT 200 with byte count", r.status == 200 and r.get("bytes") == len(payload), repr(r))
    check("upload: stores nothing", not backend.exists(s.db))


def t_download_and_nq(root):
    """The generated download source (ranges) and /.well-known/nq."""
    s = Site(root, "download")
    r = s.run("download", headers={"Range": "bytes=1000-1999"})
    check("download: range is 206 with exactly those bytes",
          r.status == 206 and len(r.body) == 1000 and
          r.headers.get("content-range") == "bytes 1000-1999/8589934592", (r.status, len(r.body), r.headers))
    first = r.body
    r = s.run("download", headers={"Range": "bytes=1500-1599"})
    check("download: the same offset gives the same bytes", r.status == 206 and r.body == first[500:600])
    r = s.run("download", method="HEAD")
    check("download: HEAD has the length and no body", r.status == 200 and r.body == b""
          and r.headers.get("content-length") == "8589934592", (r.status, r.headers, len(r.body)))
    r = s.run("download", headers={"Range": "bytes=9000000000-"})
    check_error("download: range past the end", r, 416)
    r = s.run("download", method="POST", body="x")
    check_error("download: POST", r, 405)
    r = s.run("nq", headers={"Host": "speed.example:8443"}, env={"REQUEST_SCHEME": "https"})
    urls = (r.json or {}).get("urls") or {}
    check("nq: version 1 and both spellings from the request's host",
          r.status == 200 and r.get("version") == 1 and
          urls.get("large_https_download_url") == "https://speed.example:8443/api/load/download" and
          urls.get("large_download_url") == urls.get("large_https_download_url") and
          urls.get("small_download_url") == "https://speed.example:8443/api/load/small" and
          urls.get("upload_url") == "https://speed.example:8443/api/load/upload", repr(r))
    r = s.run("nq", headers={"Host": "evil\"host/<x>"})
    check_error("nq: unusable Host", r, 400, "public_url")
    r = s.run("nq", method="POST", body="x", headers={"Host": "a"})
    check_error("nq: POST", r, 405)
    check("download/nq: store nothing", not backend.exists(s.db))


def t_test_and_metrics(root):
    """The support API's single-test lookup and Prometheus scrape."""
    s = Site(root, "extra")
    r = s.submit(fixture("native_household.json"), remote_addr="203.0.113.77")
    test_id = r.get("test_id") or "isp_0_0"
    local = dict(remote_addr="127.0.0.1")
    r = s.run("test", path_info="/" + test_id, **local)
    t = r.get("test") or {}
    check("test/<id>: 200 with the row", r.status == 200 and t.get("test_id") == test_id
          and t.get("overall_grade") == "B" and t.get("client_ip") == "203.0.113.77", repr(r))
    r = s.run("test", path_info="/isp_1_999999", **local)
    check_error("test/<unknown id>", r, 404, "isp_1_999999")
    for path in ("/../etc/passwd", "/", None, "/isp_1'--"):
        r = s.run("test", path_info=path, **local)
        check_error(f"test {path!r}", r, 400)
    r = s.run("test", path_info="/" + test_id, remote_addr="198.51.100.1")
    check_error("test/<id> from a remote client without a key", r, 401)
    r = s.run("metrics", **local)
    check("metrics: 200 text/plain", r.status == 200
          and r.headers.get("content-type", "").startswith("text/plain") and len(r.body) > 20, repr(r))
    check("metrics: no customer addresses", b"203.0.113.77" not in r.body, r.body[:300])
    r = s.run("metrics", remote_addr="198.51.100.1")
    check_error("metrics from a remote client without a key", r, 401)


TESTS = [
    t_notfound, t_sponsor, t_submit_formats, t_telemetry_disabled, t_submit_errors, t_rate_limit,
    t_broken_config, t_unwritable_database, t_postgresql_twin, t_client_addresses, t_support_auth, t_queries,
    t_retention, t_log_lines, t_upload_sink, t_test_and_metrics, t_download_and_nq,
]


def main():
    needed = ["submit", "recent", "customer", "stats", "sponsor", "notfound"]
    missing = [p for p in needed if not os.access(os.path.join(CGI_DIR, "lqos-" + p), os.X_OK)]
    if missing:
        print(f"SKIP: programs not built in {CGI_DIR}: {missing}")
        print("RESULT: 0 passed, 0 failed")
        return 77
    why = backend.start()
    if why:
        return lq.skip(f"{backend.NAME} back end: {why}")
    only = sys.argv[1:]
    start = time.monotonic()
    with lq.scratch_dir("lqos-blackbox-") as root:
        for t in TESTS:
            if only and t.__name__ not in only:
                continue
            optional = {t_upload_sink: ["upload"], t_test_and_metrics: ["test", "metrics"],
                        t_download_and_nq: ["download", "nq"]}
            if any(not os.access(os.path.join(CGI_DIR, "lqos-" + p), os.X_OK)
                   for p in optional.get(t, [])):
                print(f"# {t.__name__}: skipped, program not built")
                continue
            lq.run_timed(t, root)
    backend.stop()
    return lq.finish(start)


if __name__ == "__main__":
    sys.exit(main())
