#!/usr/bin/env python3
"""The support API additions of issue 5 through a real private Apache:
filters (grade, test_type, since, until, format) on /recent and
/customer, customer lookup by prefix, CSV export, /test/<id>, the
Prometheus /metrics endpoint, the webhook queue in /stats, and the
dashboard's files being served at /support/.

Results are seeded by tests/support_seed.py (plain CGI runs of
lqos-submit from many client addresses; timestamps spread over three
days). Every expected answer is computed from that seed with Python's
own ipaddress and datetime, independently of the C code.

Environment: LQOS_SRCDIR, LQOS_BUILDDIR (set by make check).
Prints "RESULT: N passed, M failed, S skipped" last (promtool's check is
a skip without promtool); exits 1 on any failure, 77 when the built
programs or Apache are missing.
"""
import csv
import datetime
import http.client
import io
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lqostest as lq  # noqa: E402
from lqostest import check  # noqa: E402
import backend  # noqa: E402
import support_seed as seedmod  # noqa: E402
from support_seed import API_KEY  # noqa: E402

UTC = datetime.timezone.utc
BASE = datetime.datetime(2025, 6, 10, tzinfo=UTC)
GRADES = ["A+", "A", "B", "C", "D", "F"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

class Client:
    def __init__(self, port):
        self.port = port

    def get(self, path, key=API_KEY, headers=None):
        """(status, lower-cased headers, body bytes)."""
        h = dict(headers or {})
        if key is not None:
            h["Authorization"] = "Bearer " + key
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", path, headers=h)
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def json(self, path, key=API_KEY, headers=None):
        status, hdrs, body = self.get(path, key, headers)
        try:
            doc = json.loads(body)
        except ValueError:
            doc = {"_raw": body[:300]}
        return status, doc


def q(**params):
    """Query string; values are percent-encoded (A+ becomes A%2B)."""
    return "&".join(f"{k}={urllib.parse.quote(str(v), safe=',:')}" for k, v in params.items())


def ids(rows):
    return [r["test_id"] for r in rows]


def ms(dt, delta_ms=0):
    return seedmod.iso(dt + datetime.timedelta(milliseconds=delta_ms))


def with_offset(dt, hours, minutes=0, colon=True):
    """The same instant written in local time at UTC+hours:minutes."""
    off = datetime.timedelta(hours=hours, minutes=minutes if hours >= 0 else -minutes)
    local = dt + off
    sign = "+" if off >= datetime.timedelta(0) else "-"
    total = abs(int(off.total_seconds())) // 60
    zone = f"{sign}{total // 60:02d}{':' if colon else ''}{total % 60:02d}"
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + "%03d" % (local.microsecond // 1000) + zone


# ------------------------------------------------------------------ sections


def test_auth(c, sd):
    for path in ("/api/telemetry/recent", "/api/telemetry/customer/203.0.113.5",
                 "/api/telemetry/test/" + sd.rows[0]["test_id"], "/api/telemetry/metrics",
                 "/api/telemetry/stats"):
        status, hdrs, body = c.get(path, key=None)
        check(f"auth: {path} without a key is 401", status == 401, (status, body[:200]))
        status, _, _ = c.get(path, key="wrong-key")
        check(f"auth: {path} with a wrong key is 401", status == 401, status)
    status, hdrs, body = c.get("/api/telemetry/metrics", key=None)
    check("metrics: 401 is JSON naming the ways to send the key",
          hdrs.get("content-type", "").startswith("application/json") and b"Bearer" in body, (hdrs, body))
    check("metrics: 401 carries WWW-Authenticate", "www-authenticate" in hdrs, hdrs)
    status, _, _ = c.get("/api/telemetry/metrics", key=None, headers={"X-API-Key": API_KEY})
    check("metrics: X-API-Key works", status == 200, status)


def test_recent_basic(c, sd):
    status, doc = c.json("/api/telemetry/recent?limit=1000")
    expect = sd.select()
    check("recent: 200", status == 200, doc)
    check("recent: every row, newest first", ids(doc.get("tests", [])) == ids(expect),
          (ids(doc.get("tests", []))[:3], ids(expect)[:3]))
    check("recent: total/matching/limit", (doc.get("total"), doc.get("matching"), doc.get("limit"))
          == (len(expect), len(expect), 1000), doc.get("total"))
    status, doc = c.json("/api/telemetry/recent?limit=5")
    check("recent limit=5: 5 returned of 28 matching",
          (doc.get("total"), doc.get("matching"), doc.get("limit")) == (5, len(expect), 5) and
          ids(doc["tests"]) == ids(expect)[:5], (doc.get("total"), doc.get("matching")))
    status, doc = c.json("/api/telemetry/recent")
    check("recent: default limit 50", doc.get("limit") == 50, doc.get("limit"))


def test_grade_filter(c, sd):
    counts = {g: len(sd.select(grades={g})) for g in GRADES}
    check("seed: every grade is present", all(counts.values()), counts)
    for g in GRADES:
        status, doc = c.json("/api/telemetry/recent?limit=1000&" + q(grade=g))
        expect = sd.select(grades={g})
        check(f"grade={g}: exactly its rows", status == 200 and ids(doc["tests"]) == ids(expect),
              (status, doc.get("matching"), len(expect)))
        check(f"grade={g}: every row has that grade",
              all(t["overall_grade"] == g for t in doc.get("tests", [])))
    for value, grades in (("D,F", {"D", "F"}), ("F,D", {"D", "F"}), ("A+,A", {"A+", "A"}),
                          ("A+,A,B,C,D,F", set(GRADES)), ("C", {"C"})):
        status, doc = c.json("/api/telemetry/recent?limit=1000&" + q(grade=value))
        expect = sd.select(grades=grades)
        check(f"grade={value}: the union", status == 200 and ids(doc["tests"]) == ids(expect) and
              doc["matching"] == len(expect), (status, doc.get("matching"), len(expect)))
    # "A+" not encoded arrives as "A " (a + is a space in a query string).
    status, doc = c.json("/api/telemetry/recent?grade=A+")
    check("grade=A+ unencoded: 400 that says to write A%2B",
          status == 400 and "'grade'" in doc.get("error", "") and "A%2B" in doc.get("error", ""), doc)
    for bad in ("E", "", "A++", "D;F", "B-", "ABCDEF", "A%2B,A,B,C,D,F,F", "%00"):
        status, doc = c.json("/api/telemetry/recent?grade=" + bad)
        check(f"grade={bad!r}: 400 naming grade", status == 400 and "'grade'" in doc.get("error", ""),
              (status, doc))


def test_type_filter(c, sd):
    for t in ("single_user", "virtual_household"):
        status, doc = c.json("/api/telemetry/recent?limit=1000&" + q(test_type=t))
        expect = sd.select(test_type=t)
        check(f"test_type={t}", status == 200 and ids(doc["tests"]) == ids(expect) and expect,
              (status, doc.get("matching"), len(expect)))
    for bad in ("household", "single", "", "SINGLE_USER", "single_user%00"):
        status, doc = c.json("/api/telemetry/recent?test_type=" + bad)
        check(f"test_type={bad!r}: 400 naming test_type",
              status == 400 and "'test_type'" in doc.get("error", ""), (status, doc))
    for grades, t in (({"F"}, "virtual_household"), ({"A"}, "single_user"),
                      ({"D", "F"}, "single_user"), ({"B"}, "virtual_household")):
        status, doc = c.json("/api/telemetry/recent?limit=1000&" + q(grade=",".join(sorted(grades)), test_type=t))
        expect = sd.select(grades=grades, test_type=t)
        check(f"grade={sorted(grades)} and test_type={t}",
              status == 200 and ids(doc["tests"]) == ids(expect) and doc["matching"] == len(expect),
              (doc.get("matching"), len(expect)))


def test_time_filters(c, sd):
    row = sd.rows[10]
    t = row["dt"]

    def run(label, params, **model):
        status, doc = c.json("/api/telemetry/recent?limit=1000&" + q(**params))
        expect = sd.select(**model)
        return check(label, status == 200 and ids(doc.get("tests", [])) == ids(expect) and
                     doc.get("matching") == len(expect),
                     (params, status, doc.get("matching"), len(expect), doc.get("error")))

    run("since = a row's exact time includes it", {"since": ms(t)}, since=t)
    check("  (and that row is the oldest returned)", sd.select(since=t)[-1] is row)
    run("since one ms later excludes it", {"since": ms(t, 1)}, since=t + datetime.timedelta(milliseconds=1))
    run("until = a row's exact time includes it", {"until": ms(t)}, until=t)
    run("until one ms earlier excludes it", {"until": ms(t, -1)}, until=t - datetime.timedelta(milliseconds=1))
    status, doc = c.json("/api/telemetry/recent?" + q(since=ms(t), until=ms(t)))
    check("since = until = a row's time: exactly that row",
          status == 200 and ids(doc["tests"]) == [row["test_id"]], doc)
    for label, text in (("+02:00", with_offset(t, 2)), ("-05:30", with_offset(t, -5, 30)),
                        ("+0200", with_offset(t, 2, 0, colon=False)), ("+14:00", with_offset(t, 14)),
                        ("no zone (UTC)", ms(t)[:-1]), ("lower-case z", ms(t)[:-1] + "z")):
        run(f"since with offset {label} ({text}) is the same instant", {"since": text}, since=t)
        run(f"until with offset {label} is the same instant", {"until": text}, until=t)
    run("since one ms later, written +02:00", {"since": with_offset(t + datetime.timedelta(milliseconds=1), 2)},
        since=t + datetime.timedelta(milliseconds=1))
    day = datetime.datetime(2025, 6, 11, tzinfo=UTC)
    end_of_day = day + datetime.timedelta(days=1, milliseconds=-1)
    run("since=2025-06-11 (a date: its midnight UTC)", {"since": "2025-06-11"}, since=day)
    run("until=2025-06-11 (a date: to the end of that day)", {"until": "2025-06-11"}, until=end_of_day)
    run("since=until=2025-06-11: that whole day", {"since": "2025-06-11", "until": "2025-06-11"},
        since=day, until=end_of_day)
    check("  (12 of the seeded rows fall on 2025-06-11)",
          len(sd.select(since=day, until=end_of_day)) == 12)
    run("minutes only: since=2025-06-11T04:00Z", {"since": "2025-06-11T04:00Z"},
        since=datetime.datetime(2025, 6, 11, 4, 0, tzinfo=UTC))
    run("a range with no rows", {"since": "2030-01-01", "until": "2030-01-02"},
        since=datetime.datetime(2030, 1, 1, tzinfo=UTC))
    # Combinations.
    since, until = sd.rows[3]["dt"], sd.rows[21]["dt"]
    run("grade=D,F + test_type=single_user + since + until",
        {"grade": "D,F", "test_type": "single_user", "since": ms(since), "until": ms(until)},
        grades={"D", "F"}, test_type="single_user", since=since, until=until)
    run("grade=A+,A + until (offset -03:00)", {"grade": "A+,A", "until": with_offset(until, -3)},
        grades={"A+", "A"}, until=until)
    # Errors.
    status, doc = c.json("/api/telemetry/recent?" + q(since="2025-06-12", until="2025-06-11"))
    check("until before since: 400 naming both", status == 400 and "'since'" in doc.get("error", "")
          and "'until'" in doc.get("error", ""), (status, doc))
    status, doc = c.json("/api/telemetry/recent?" + q(since=ms(t, 1), until=ms(t)))
    check("until one ms before since: 400", status == 400, (status, doc))
    for name in ("since", "until"):
        for bad in ("2025-02-30", "2025-13-01", "yesterday", "2025-06-10T25:00:00Z",
                    "2025-06-10T20:61:00Z", "2025-06-10T20:00:00+24:00", "2025-6-1", "1969-12-31",
                    "2025-06-10T20:00:00Zjunk", "", "1718000000"):
            status, doc = c.json(f"/api/telemetry/recent?{name}=" + urllib.parse.quote(bad))
            check(f"{name}={bad!r}: 400 naming {name}",
                  status == 400 and f"'{name}'" in doc.get("error", ""), (status, doc))
        # A raw + in a URL is a space: the error says how to write it.
        status, doc = c.json(f"/api/telemetry/recent?{name}=2025-06-10T22:00:00+02:00")
        check(f"{name} with an unencoded +: 400 that mentions %2B",
              status == 400 and "%2B" in doc.get("error", ""), (status, doc))


def test_other_params(c, sd):
    for path, name in (("/api/telemetry/recent?limit=0", "limit"), ("/api/telemetry/recent?limit=1001", "limit"),
                       ("/api/telemetry/recent?limit=ten", "limit"), ("/api/telemetry/recent?format=xml", "format"),
                       ("/api/telemetry/recent?format=", "format"),
                       ("/api/telemetry/customer/203.0.113.5?limit=0", "limit"),
                       ("/api/telemetry/customer/203.0.113.5?grade=Z", "grade"),
                       ("/api/telemetry/customer/203.0.113.5?since=soon", "since"),
                       ("/api/telemetry/customer/203.0.113.5?test_type=x", "test_type"),
                       ("/api/telemetry/customer/203.0.113.5?format=pdf", "format")):
        status, doc = c.json(path)
        check(f"{path}: 400 naming {name}", status == 400 and f"'{name}'" in doc.get("error", ""),
              (status, doc))
    status, doc = c.json("/api/telemetry/recent?format=json&limit=2")
    check("format=json is the default JSON", status == 200 and len(doc.get("tests", [])) == 2, doc)


def test_customer(c, sd):
    def run(label, spec, canonical, net, extra="", **model):
        status, doc = c.json(f"/api/telemetry/customer/{spec}?limit=1000{extra}")
        expect = sd.select(net=net, **model)
        ok = check(label, status == 200 and ids(doc.get("tests", [])) == ids(expect) and
                   doc.get("total_tests") == len(expect) and doc.get("client_ip") == canonical,
                   (spec, status, doc.get("client_ip"), doc.get("total_tests"), len(expect), doc.get("error")))
        return ok, expect, doc

    N = ipaddress.ip_network
    ok, rows, _ = run("customer: one address", "203.0.113.5", "203.0.113.5", N("203.0.113.5/32"))
    check("  (7 tests for 203.0.113.5)", len(rows) == 7)
    run("customer: IPv4-mapped address in the URL is the IPv4 customer", "::ffff:198.51.100.7",
        "198.51.100.7", N("198.51.100.7/32"))
    check("  (both its tests, one sent from ::ffff:198.51.100.7)", len(sd.select(net=N("198.51.100.7/32"))) == 2)
    run("customer: IPv4-mapped prefix ::ffff:198.51.100.0/120 is 198.51.100.0/24",
        "::ffff:198.51.100.0/120", "198.51.100.0/24", N("198.51.100.0/24"))
    ok, rows, _ = run("customer: 203.0.113.0/24", "203.0.113.0/24", "203.0.113.0/24", N("203.0.113.0/24"))
    got = {r["client_ip"] for r in rows}
    check("  /24 includes .0 and .255, not 203.0.112.255 or 203.0.114.0",
          {"203.0.113.0", "203.0.113.255"} <= got and not got & {"203.0.112.255", "203.0.114.0"}, got)
    run("customer: host bits set (203.0.113.77/24) is the /24", "203.0.113.77/24", "203.0.113.0/24",
        N("203.0.113.0/24"))
    run("customer: /32", "203.0.113.77/32", "203.0.113.77/32", N("203.0.113.77/32"))
    run("customer: 0.0.0.0/0 is every IPv4 customer", "0.0.0.0/0", "0.0.0.0/0", N("0.0.0.0/0"))
    ok, rows, _ = run("customer: ::/0 is every IPv6 customer", "::/0", "::/0", N("::/0"))
    check("  ::/0 has no IPv4 rows (and 0.0.0.0/0 no IPv6)",
          rows and all(":" in r["client_ip"] for r in rows) and
          all(":" not in r["client_ip"] for r in sd.select(net=N("0.0.0.0/0"))))
    check("  IPv4 and IPv6 together are every row",
          len(sd.select(net=N("0.0.0.0/0"))) + len(rows) == len(sd.rows))
    ok, rows, _ = run("customer: 2001:db8:1200::/56", "2001:db8:1200::/56", "2001:db8:1200::/56",
                      N("2001:db8:1200::/56"))
    got = {r["client_ip"] for r in rows}
    check("  /56 includes its first and last address, not its neighbours",
          {"2001:db8:1200::", "2001:db8:1200:ff:ffff:ffff:ffff:ffff"} <= got and
          not got & {"2001:db8:11ff:ffff:ffff:ffff:ffff:ffff", "2001:db8:1201::"}, got)
    ok, rows, _ = run("customer: /64", "2001:db8:1200:5::/64", "2001:db8:1200:5::/64", N("2001:db8:1200:5::/64"))
    check("  /64 has 5 tests from 3 addresses", len(rows) == 5 and len({r["client_ip"] for r in rows}) == 3,
          [r["client_ip"] for r in rows])
    run("customer: /128", "2001:db8:1200:5::1/128", "2001:db8:1200:5::1/128", N("2001:db8:1200:5::1/128"))
    run("customer: another spelling of an IPv6 address", "2001:DB8:1200:5:0:0:0:1", "2001:db8:1200:5::1",
        N("2001:db8:1200:5::1/128"))
    run("customer: /64 with host bits set", "2001:db8:1200:5:abcd::7/64", "2001:db8:1200:5::/64",
        N("2001:db8:1200:5::/64"))
    run("customer: a prefix with no tests is an empty 200", "192.0.2.0/24", "192.0.2.0/24", N("192.0.2.0/24"))
    # With filters.
    run("customer /24 + grade=D,F", "203.0.113.0/24", "203.0.113.0/24", N("203.0.113.0/24"),
        "&grade=D,F", grades={"D", "F"})
    run("customer ::/0 + test_type=virtual_household", "::/0", "::/0", N("::/0"),
        "&test_type=virtual_household", test_type="virtual_household")
    t0, t1 = sd.rows[2]["dt"], sd.rows[5]["dt"]
    run("customer + since + until", "203.0.113.5", "203.0.113.5", N("203.0.113.5/32"),
        "&" + q(since=ms(t0), until=with_offset(t1, 2)), since=t0, until=t1)
    status, doc = c.json("/api/telemetry/customer/203.0.113.0/24?limit=2&grade=D,F")
    expect = sd.select(net=N("203.0.113.0/24"), grades={"D", "F"})
    check("customer limit=2: 2 returned, total_tests counts every match",
          status == 200 and ids(doc["tests"]) == ids(expect)[:2] and doc["total_tests"] == len(expect)
          and doc["limit"] == 2 and len(expect) > 2, (doc.get("total_tests"), len(expect)))
    # Invalid.
    for bad in ("203.0.113.0/33", "2001:db8::/129", "203.0.113.0/", "203.0.113.0/24/1", "1.2.3",
                "not-an-ip", "203.0.113.0/-1", "::ffff:198.51.100.0/24", "2001:db8::1%25eth0",
                "203.0.113.0%2F24"):
        status, doc = c.json(f"/api/telemetry/customer/{bad}")
        if bad == "203.0.113.0%2F24":
            # Apache refuses an encoded slash in a path before any program runs.
            check("customer: encoded slash is refused", status in (400, 404), status)
            continue
        check(f"customer {bad}: 400 saying what is wrong", status == 400 and
              "not a valid IPv4 or IPv6 address or prefix" in doc.get("error", ""), (status, doc))
    for path in ("/api/telemetry/customer", "/api/telemetry/customer/"):
        status, doc = c.json(path)
        check(f"{path}: 400 asking for an address", status == 400 and "/api/telemetry/customer/<ip>"
              in doc.get("error", ""), (status, doc))


def parse_csv(body):
    text = body.decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline="")))


def expected_cell(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return "'" + v if v.startswith(FORMULA_START) else v
    return v


def cells_match(cell, v):
    e = expected_cell(v)
    if isinstance(e, (int, float)):
        try:
            return float(cell) == float(e)
        except ValueError:
            return False
    return cell == e


def test_csv(c, sd):
    status, hdrs, body = c.get("/api/telemetry/recent?limit=1000&format=csv")
    _, doc = c.json("/api/telemetry/recent?limit=1000")
    check("csv: 200 text/csv", status == 200 and hdrs.get("content-type", "").startswith("text/csv"), hdrs)
    check("csv: a download named recent-tests.csv",
          'attachment; filename="recent-tests.csv"' in hdrs.get("content-disposition", ""), hdrs)
    check("csv: nosniff and no-store", hdrs.get("x-content-type-options") == "nosniff" and
          "no-store" in hdrs.get("cache-control", ""), hdrs)
    check("csv: ends with CRLF", body.endswith(b"\r\n"), body[-20:])
    # Outside quoted fields every line break is CRLF.
    outside, inside_quotes, bare_lf = b"", False, 0
    for i, ch in enumerate(body):
        if ch == 0x22:
            inside_quotes = not inside_quotes
        elif ch == 0x0A and not inside_quotes and (i == 0 or body[i - 1] != 0x0D):
            bare_lf += 1
    check("csv: records end with CRLF (no bare LF outside quotes)", bare_lf == 0 and not inside_quotes, bare_lf)
    rows = parse_csv(body)
    header = rows[0] if rows else []
    check("csv: header row is the JSON keys in order", header == list(doc["tests"][0].keys()), header)
    check("csv: one record per test", len(rows) - 1 == len(doc["tests"]), (len(rows), len(doc["tests"])))
    mismatches = []
    for rec, t in zip(rows[1:], doc["tests"]):
        for name, cell in zip(header, rec):
            if not cells_match(cell, t[name]):
                mismatches.append((t["test_id"], name, cell, t[name]))
        if len(rec) != len(header):
            mismatches.append((t["test_id"], "width", len(rec)))
    check("csv: every cell equals the JSON value (text guarded against formulas)", not mismatches, mismatches[:5])
    by_id = {rec[1]: dict(zip(header, rec)) for rec in rows[1:]}
    for ua in (seedmod.UA_FORMULA, seedmod.UA_PLUS, seedmod.UA_MINUS, seedmod.UA_AT, seedmod.UA_TAB,
               seedmod.UA_CR):
        row = next(r for r in sd.rows if r["user_agent"] == ua)
        got = by_id.get(row["test_id"], {}).get("user_agent")
        check(f"csv: user agent {ua!r} is neutralised with a leading '", got == "'" + ua, got)
    for ua in (seedmod.UA_QUOTES, seedmod.UA_COMMAS, seedmod.UA_NEWLINE, seedmod.UA_HTML):
        row = next(r for r in sd.rows if r["user_agent"] == ua)
        got = by_id.get(row["test_id"], {}).get("user_agent")
        check(f"csv: user agent {ua!r} survives quoting unchanged", got == ua, got)
    check("csv: the formula text is quoted in the raw bytes",
          b'"\'=cmd|\' /C calc\'!A0"' in body, None)
    check("csv: quotes doubled, newline kept inside the quoted field",
          b'"line one\nline two, ""three"""' in body and b'"Mozilla/5.0 (X11; Linux x86_64), ""quoted"" browser"'
          in body)
    text_cols = [i for i, n in enumerate(header) if n in ("user_agent", "test_server_name", "client_ip", "test_id")]
    check("csv: no text cell starts with = + - @ tab or CR",
          all(not rec[i].startswith(FORMULA_START) for rec in rows[1:] for i in text_cols if i < len(rec)))
    # Filters apply to CSV exactly as to JSON.
    status, hdrs, body = c.get("/api/telemetry/recent?limit=1000&format=csv&grade=D,F&test_type=single_user")
    rows = parse_csv(body)
    expect = sd.select(grades={"D", "F"}, test_type="single_user")
    check("csv: filtered export has the filtered rows", [r[1] for r in rows[1:]] == ids(expect),
          ([r[1] for r in rows[1:]], ids(expect)))
    status, hdrs, body = c.get("/api/telemetry/recent?format=csv&since=2030-01-01")
    check("csv: no matching rows is still a header row",
          status == 200 and body.count(b"\r\n") == 1 and body.startswith(b"id,test_id,timestamp,client_ip,"),
          body[:200])
    status, hdrs, body = c.get("/api/telemetry/customer/2001:db8:1200::/56?format=csv&limit=1000")
    rows = parse_csv(body)
    check("csv: customer prefix export", status == 200 and 'filename="customer-tests.csv"' in
          hdrs.get("content-disposition", "") and [r[1] for r in rows[1:]] ==
          ids(sd.select(net=ipaddress.ip_network("2001:db8:1200::/56"))), (status, hdrs))
    status, hdrs, body = c.get("/api/telemetry/recent?format=csv", key=None)
    check("csv: without a key is a 401 JSON error, not a CSV", status == 401 and
          hdrs.get("content-type", "").startswith("application/json"), (status, hdrs))


def test_test_endpoint(c, sd):
    _, recent = c.json("/api/telemetry/recent?limit=1000")
    by_id = {t["test_id"]: t for t in recent["tests"]}
    all_have_details = True
    for row in sd.rows:
        status, doc = c.json("/api/telemetry/test/" + row["test_id"])
        t = doc.get("test") or {}
        if status != 200 or not isinstance(t.get("details"), dict):
            all_have_details = False
        same = {k: v for k, v in t.items() if k != "details"} == by_id[row["test_id"]]
        check(f"test/{row['test_id']}: the row's columns as /recent has them", status == 200 and same,
              (status, doc.get("error")))
    check("test/<id>: every test has its details object", all_have_details)
    # Single user: every phase metric and its grade.
    row = sd.rows[3]
    _, doc = c.json("/api/telemetry/test/" + row["test_id"])
    t = doc["test"]
    d = t["details"]
    sent = row["payload"]
    for phase in ("download", "upload", "bidirectional"):
        ph = d.get(phase) or {}
        check(f"test details: {phase} has every submitted metric",
              all(ph.get(k) == v for k, v in sent[phase].items()), (ph, sent[phase]))
        check(f"test details: {phase} grade is the row's", ph.get("grade") == t[f"{phase}_grade"], ph)
    check("test details: baseline and duration", d.get("baseline_latency_ms") == 12.0 and
          d.get("test_duration_seconds") == 40.0, d)
    # Household: per-user grades and metrics.
    for idx in (6, 18):
        row = sd.rows[idx]
        _, doc = c.json("/api/telemetry/test/" + row["test_id"])
        t = doc["test"]
        d = t["details"]
        for user in ("alex", "sarah", "jake", "computer"):
            u = d.get(user) or {}
            check(f"household test {idx}: {user}'s grade in details is the row's {user}_grade",
                  u.get("grade") is not None and u.get("grade") == t[f"{user}_grade"] ==
                  row["grades"].get(user), (u, t.get(f"{user}_grade"), row["grades"]))
            check(f"household test {idx}: {user}'s submitted metrics",
                  all(float(u.get(k, -1)) == float(v) for k, v in row["payload"][user].items()), u)
        check(f"household test {idx}: household score", t["household_score"] == row["grades"]["household_score"])
    # The original client's household format: its letters are the user grades.
    row = sd.rows[13]
    _, doc = c.json("/api/telemetry/test/" + row["test_id"])
    t = doc["test"]
    check("original household: user grades from its letters",
          (t["alex_grade"], t["sarah_grade"], t["jake_grade"], t["computer_grade"]) == ("A", "B", "A+", "C"), t)
    check("original household: details present", isinstance(t.get("details"), dict) and t["details"], t)
    # Errors.
    status, doc = c.json("/api/telemetry/test/isp_1_999999")
    check("test: unknown id is 404 with a message", status == 404 and "isp_1_999999" in doc.get("error", ""),
          (status, doc))
    for bad in ("abc", "ISP_1_2", "isp_", "isp_1_2;drop", "isp_1_2%27", "..%2F..%2Fetc", "isp_" + "1" * 80):
        status, doc = c.json("/api/telemetry/test/" + bad)
        check(f"test/{bad[:20]}: malformed is 400 (or Apache's 404 for an encoded slash)",
              status == 400 or (status == 404 and "%2F" in bad), (status, doc))
    for path in ("/api/telemetry/test", "/api/telemetry/test/"):
        status, doc = c.json(path)
        check(f"{path}: 400", status == 400 and "test id" in doc.get("error", ""), (status, doc))


def parse_prom(text):
    samples = {}
    helps, types = set(), set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helps.add(line.split()[2])
        elif line.startswith("# TYPE "):
            types.add(line.split()[2])
        elif line and not line.startswith("#"):
            m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$', line)
            if not m:
                samples[("BAD", line)] = None
                continue
            labels = tuple(sorted(re.findall(r'(\w+)="([^"]*)"', m.group(2) or "")))
            samples[(m.group(1), labels)] = float(m.group(3))
    return samples, helps, types


def promtool_check(text, label):
    promtool = shutil.which("promtool")
    if promtool is None:
        lq.skip_check(f"{label}: promtool check metrics", "promtool not installed (Debian package prometheus); "
                      "the exposition format is still checked by this test's own parser")
        return
    p = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
    check(f"{label}: promtool check metrics accepts it", p.returncode == 0, (p.stdout + p.stderr).decode())


def test_metrics(c, sd):
    status, hdrs, body = c.get("/api/telemetry/metrics")
    check("metrics: 200", status == 200, (status, body[:200]))
    check("metrics: text format 0.0.4", hdrs.get("content-type", "").startswith("text/plain; version=0.0.4"), hdrs)
    text = body.decode()
    promtool_check(text, "metrics")
    samples, helps, types = parse_prom(text)
    check("metrics: every line parses", not any(k[0] == "BAD" for k in samples),
          [k for k in samples if k[0] == "BAD"])
    names = {k[0] for k in samples}
    check("metrics: HELP and TYPE for every family", names <= helps and names <= types, names - helps)
    for family in ("lqos_tests_stored", "lqos_submissions_total", "lqos_unique_client_ips",
                   "lqos_max_stored_tests", "lqos_last_test_age_seconds", "lqos_webhook_events",
                   "lqos_webhook_oldest_pending_age_seconds", "lqos_webhook_enabled"):
        check(f"metrics: {family} present", family in names, sorted(names))
    stored = {dict(k[1])["test_type"] + "/" + dict(k[1])["grade"]: v for k, v in samples.items()
              if k[0] == "lqos_tests_stored"}
    model = {}
    for row in sd.rows:
        key = row["test_type"] + "/" + row["overall"]
        model[key] = model.get(key, 0) + 1
    check("metrics: lqos_tests_stored by type and grade", stored == model, (stored, model))
    get = lambda name, **labels: samples.get((name, tuple(sorted(labels.items()))))  # noqa: E731
    check("metrics: lqos_submissions_total", get("lqos_submissions_total") == len(sd.rows))
    check("metrics: lqos_unique_client_ips", get("lqos_unique_client_ips") ==
          len({r["client_ip"] for r in sd.rows}))
    check("metrics: lqos_max_stored_tests", get("lqos_max_stored_tests") == 1000)
    age = get("lqos_last_test_age_seconds")
    expect_age = time.time() - sd.rows[-1]["dt"].timestamp()
    check("metrics: lqos_last_test_age_seconds is the newest test's age",
          age is not None and abs(age - expect_age) < 120, (age, expect_age))
    _, stats = c.json("/api/telemetry/stats")
    queue = stats.get("webhook_queue", {})
    for target in ("webhook", "central"):
        for state in ("pending", "delivered", "failed"):
            check(f"metrics: webhook events {target}/{state} agree with /stats",
                  get("lqos_webhook_events", target=target, state=state) == queue.get(target, {}).get(state),
                  (get("lqos_webhook_events", target=target, state=state), queue.get(target)))
    check("metrics: every seeded result pending for the refusing webhook",
          get("lqos_webhook_events", target="webhook", state="pending") == len(sd.rows))
    oldest = get("lqos_webhook_oldest_pending_age_seconds", target="webhook")
    check("metrics: oldest pending age is a small non-negative number", oldest is not None and 0 <= oldest < 600,
          oldest)
    check("metrics: lqos_webhook_enabled 1", get("lqos_webhook_enabled") == 1)

    # An empty database: still valid (and promtool-clean) exposition.
    tmp = tempfile.mkdtemp(prefix="lqos-metrics-empty-")
    try:
        conf = os.path.join(tmp, "conf")
        with open(conf, "w") as f:
            f.write("\n".join(backend.conf_lines("%s/db.sqlite" % tmp)) + "\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LIBREQOS_", "HTTP_", "REMOTE_"))}
        env.update({"LQOS_TEST_CONF": conf, "REQUEST_METHOD": "GET", "QUERY_STRING": "",
                    "REMOTE_ADDR": "127.0.0.1", "GATEWAY_INTERFACE": "CGI/1.1"})
        p = subprocess.run([os.path.join(seedmod.BUILDDIR, "cgi-bin", "lqos-metrics")], env=env,
                           capture_output=True, timeout=60)
        out = p.stdout
        sep = out.find(b"\r\n\r\n")
        text = out[sep + 4:].decode() if sep >= 0 else ""
        check("metrics on an empty database: 200", out.startswith(b"Status: 200"), out[:200])
        promtool_check(text, "metrics on an empty database")
        samples, _, _ = parse_prom(text)
        check("metrics on an empty database: no stored tests, no last-test age",
              not any(k[0] in ("lqos_tests_stored", "lqos_last_test_age_seconds") for k in samples) and
              samples.get(("lqos_submissions_total", ())) == 0, samples)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_stats_queue(c, sd):
    status, doc = c.json("/api/telemetry/stats")
    q_ = doc.get("webhook_queue") or {}
    keys = {"pending", "delivered", "failed", "oldest_pending_age_seconds", "last_error",
            "last_error_at", "last_delivery_at"}
    for target in ("webhook", "central"):
        check(f"stats: webhook_queue.{target} has every field", keys <= set(q_.get(target, {})), q_.get(target))
    w = q_.get("webhook", {})
    check("stats: the refused deliveries are pending with their error",
          w.get("pending") == len(sd.rows) and w.get("delivered") == 0 and w.get("failed") == 0 and
          isinstance(w.get("last_error"), str) and w["last_error"] and w.get("last_error_at") is not None, w)
    cen = q_.get("central", {})
    check("stats: no central forwarding, nothing queued",
          (cen.get("pending"), cen.get("delivered"), cen.get("failed")) == (0, 0, 0), cen)
    check("stats: totals", doc.get("total_tests_stored") == len(sd.rows) and doc.get("webhook_enabled") is True)


def test_dashboard_served(c, sd):
    for path in ("/support/", "/bufferbloat/support/"):
        status, hdrs, body = c.get(path, key=None)
        check(f"{path}: the dashboard page", status == 200 and hdrs.get("content-type", "").startswith("text/html")
              and b"Support dashboard" in body, (status, hdrs))
    status, hdrs, body = c.get("/support", key=None)
    check("/support redirects to /support/", status in (301, 302) and hdrs.get("location", "").endswith("/support/"),
          (status, hdrs))
    status, hdrs, body = c.get("/support/", key=None)
    check("/support/: not cached, not framed, no referrer",
          "no-store" in hdrs.get("cache-control", "") and "frame-ancestors 'none'" in
          hdrs.get("content-security-policy", "") and hdrs.get("referrer-policy") == "no-referrer", hdrs)
    scripts = re.findall(rb'src="([^"]+)"', body) + re.findall(rb'href="([^"]+\.css)"', body)
    check("/support/: loads only its own files (no CDN)", scripts and
          all(not s.startswith((b"http:", b"https:", b"//")) for s in scripts), scripts)
    for s in scripts:
        status, hdrs, _ = c.get("/support/" + s.decode().lstrip("./"), key=None)
        check(f"/support/{s.decode()}: served", status == 200, status)
    status, hdrs, body = c.get("/support/js/main.js", key=None)
    check("dashboard JS is served as JavaScript", status == 200 and "javascript" in hdrs.get("content-type", ""),
          hdrs)


def main():
    for prog in (seedmod.SUBMIT, seedmod.FLUSH, os.path.join(seedmod.BUILDDIR, "cgi-bin", "lqos-metrics")):
        if not os.access(prog, os.X_OK):
            return lq.skip(f"{prog} not built")
    if not (shutil.which("apache2") or os.path.exists("/usr/sbin/apache2")):
        return lq.skip("apache2 not installed")
    why = backend.start()
    if why:
        return lq.skip(f"{backend.NAME} back end: {why}")
    started = time.monotonic()
    with seedmod.Seeded(BASE) as sd:
        sd.seed()
        sd.start()
        c = Client(sd.port)
        for section in (test_auth, test_recent_basic, test_grade_filter, test_type_filter, test_time_filters,
                        test_other_params, test_customer, test_csv, test_test_endpoint, test_metrics,
                        test_stats_queue, test_dashboard_served):
            try:
                section(c, sd)
            except Exception:  # a crash in one section is a failure, the rest still run
                check(f"{section.__name__} ran to the end", False, traceback.format_exc())
        errors = ""
        try:
            with open(os.path.join(sd.rundir, "logs", "error.log")) as f:
                errors = "\n".join(l for l in f if "Segmentation" in l or "AddressSanitizer" in l)
        except OSError:
            pass
        check("no crash in Apache's error log", not errors, errors)
    print(f"support API checks on {backend.NAME} took {time.monotonic() - started:.1f} s")
    backend.stop()
    return lq.finish()


if __name__ == "__main__":
    sys.exit(main())
