#!/usr/bin/env python3
"""Webhook delivery end to end (SPEC section 5, the guide's "Webhook Payload
Format", "Webhook Security" and "Log Monitoring").

A real HTTP receiver on a free loopback port (http.server in a thread) whose
behaviour is switched per path: 200/204, 301 with Location, 410, 429 with
Retry-After, 500, hang, slow, down (bound but not listening). Results are
submitted by running cgi-bin/lqos-submit as a plain CGI process, and through
a private Apache (scripts/private-apache) for prompt delivery and the log
lines. The flusher, sbin/lqos-webhook-flush, is run by hand with --now so
that backoff, Retry-After and the give-up age are checked without sleeping.

Environment: LQOS_SRCDIR, LQOS_BUILDDIR (set by make check).
Prints "RESULT: N passed, M failed, S skipped" last (the Apache scenario
is one skip without Apache); exits 1 on any failure, 77 when the built
programs are missing.
"""
import base64
import concurrent.futures
import email.utils
import fcntl
import hashlib
import hmac
import http.client
import http.server
import json
import os
import pwd
import re
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lqostest as lq  # noqa: E402
import backend  # noqa: E402
from lqostest import BUILDDIR, SRCDIR, check, free_port  # noqa: E402
SUBMIT = os.path.join(BUILDDIR, "cgi-bin", "lqos-submit")
RECENT = os.path.join(BUILDDIR, "cgi-bin", "lqos-recent")
STATS = os.path.join(BUILDDIR, "cgi-bin", "lqos-stats")
FLUSH = os.path.join(BUILDDIR, "sbin", "lqos-webhook-flush")
FIXTURES = os.path.join(SRCDIR, "tests", "fixtures")

TIMESTAMP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
GUIDE_KEYS = {"test_id", "timestamp", "source", "client_ip", "user_agent", "test_type",
              "download_mbps", "upload_mbps", "ping_ms", "bufferbloat"}
BUFFERBLOAT_KEYS = {"overall_grade", "download_latency_increase_ms",
                    "upload_latency_increase_ms", "bidirectional_latency_increase_ms"}
HOUSEHOLD_KEYS = {"alex_performance", "sarah_performance", "jake_performance",
                  "computer_performance"}
LETTERS = {"A+", "A", "B", "C", "D", "F"}
HOUR = 3600

# The guide's verification function, as printed in "Webhook Security".
def verify_webhook(payload, signature, secret):
    expected = hmac.new(
        secret.encode('utf-8'),
        payload.encode('utf-8'),
        hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(f"sha256={expected}", signature)


def standard_signature(key, msg_id, timestamp, body):
    """Standard Webhooks: v1,<base64 HMAC-SHA256(key, id.timestamp.body)>."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


# ------------------------------------------------------------------ receiver


class Receiver:
    """A portal on 127.0.0.1. `modes` maps a path to a behaviour; a path's
    entry in `script` (a list) is consumed first, one per request."""

    def __init__(self, listen=True):
        self.lock = threading.Lock()
        self.requests = []
        self.modes = {}
        self.script = {}
        self.retry_after = "120"
        self.slow_seconds = 10.0
        self.stop = threading.Event()
        self.active = False
        recv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, fmt, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                rec = {"path": self.path, "method": self.command, "body": body, "t": time.monotonic(),
                       "headers": {k.lower(): v for k, v in self.headers.items()},
                       "header_list": list(self.headers.items()), "answered": None}
                mode = recv.next_mode(self.path)
                rec["mode"] = mode
                with recv.lock:
                    recv.requests.append(rec)
                if mode == "hang":
                    recv.stop.wait(30)
                    self.close_connection = True
                    return
                if mode == "slow":
                    recv.stop.wait(recv.slow_seconds)
                    mode = "200"
                self.send_response(int(mode))
                if mode == "301":
                    self.send_header("Location", recv.url("/moved"))
                if mode in ("429", "503"):
                    self.send_header("Retry-After", recv.retry_after)
                self.send_header("Content-Length", "0")
                self.end_headers()
                rec["answered"] = time.monotonic()

            # Whatever arrives is recorded (a followed redirect may turn
            # the POST into a GET).
            do_GET = do_PUT = do_HEAD = do_DELETE = do_PATCH = do_POST

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler,
                                                      bind_and_activate=False)
        self.server.daemon_threads = True
        self.server.allow_reuse_address = True
        self.server.server_bind()
        self.port = self.server.server_address[1]
        if listen:
            self.listen()

    def listen(self):
        """Start answering (until then the port is bound but refuses)."""
        self.server.server_activate()
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        self.active = True

    def next_mode(self, path):
        with self.lock:
            queue = self.script.get(path)
            if queue:
                return queue.pop(0)
            return self.modes.get(path, "200")

    def url(self, path="/hook"):
        return f"http://127.0.0.1:{self.port}{path}"

    def got(self, path=None, since=0):
        with self.lock:
            return [r for r in self.requests[since:] if path is None or r["path"] == path]

    def count(self):
        with self.lock:
            return len(self.requests)

    def wait_for(self, pred, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if pred(self.requests):
                    return True
            time.sleep(0.05)
        with self.lock:
            return pred(self.requests)

    def close(self):
        self.stop.set()
        if self.active:
            self.server.shutdown()
        self.server.server_close()


# ------------------------------------------------------------------ programs


def write_conf(path, **keys):
    text = "# webhook integration test\n" + "".join(f'{k}="{v}"\n' for k, v in keys.items())
    with open(path + ".tmp", "w") as f:
        f.write(backend.conf_text(text))   # + database_url on PostgreSQL
    os.chmod(path + ".tmp", 0o644)
    os.replace(path + ".tmp", path)


def cgi_env(conf, extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LIBREQOS_", "LQOS_TEST_CONF", "HTTP_", "REMOTE_", "CONTENT_"))}
    env.update({"GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1",
                "LQOS_TEST_CONF": conf, "LQOS_WEBHOOK_FLUSH": FLUSH})
    env.update(extra)
    return env


def parse_cgi(out):
    sep = out.find(b"\r\n\r\n")
    skip = 4
    if sep < 0:
        sep, skip = out.find(b"\n\n"), 2
    head, body = (out[:sep], out[sep + skip:]) if sep >= 0 else (out, b"")
    status, headers = 200, {}
    for line in head.decode("latin-1").splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    if "status" in headers:
        status = int(headers["status"].split()[0])
    try:
        doc = json.loads(body.decode("utf-8"))
    except ValueError:
        doc = None
    return status, headers, body, doc


def submit_cgi(conf, body, ip="203.0.113.5", ua="Mozilla/5.0 (X11; Linux x86_64) lqos-itest"):
    """POST /api/telemetry as a plain CGI process: (status, body bytes, json)."""
    env = cgi_env(conf, {"REQUEST_METHOD": "POST", "CONTENT_TYPE": "application/json",
                         "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": ip,
                         "SCRIPT_NAME": "/api/telemetry", "REQUEST_URI": "/api/telemetry"})
    if ua is not None:
        env["HTTP_USER_AGENT"] = ua
    p = subprocess.run([SUBMIT], input=body, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env, timeout=60)
    status, _, raw, doc = parse_cgi(p.stdout)
    return status, raw + p.stderr, doc


def get_cgi(prog, conf, query="", path_info=""):
    env = cgi_env(conf, {"REQUEST_METHOD": "GET", "QUERY_STRING": query,
                         "REMOTE_ADDR": "127.0.0.1", "PATH_INFO": path_info})
    p = subprocess.run([prog], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, timeout=60)
    status, _, raw, doc = parse_cgi(p.stdout)
    return status, raw, doc


def flush(conf, now=None, args=(), timeout=90):
    """One flusher run: (returncode, stdout, stderr, seconds)."""
    cmd = [FLUSH, "--config", conf] + list(args)
    if now is not None:
        cmd += ["--now", str(int(now))]
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr, time.monotonic() - t0


def q(db, sql, args=()):
    """Rows of a query on the scenario's store (SQLite or PostgreSQL)."""
    return backend.rows(db, sql, args)


def outbox_row(db, event_id, target="webhook"):
    return backend.row(db, "SELECT * FROM webhook_outbox WHERE event_id = ? AND target = ?",
                       (event_id, target))


def stored_row(db, test_id):
    return backend.row(db, "SELECT * FROM test_results WHERE test_id = ?", (test_id,))


class Scenario:
    """A temp folder with a config file and a database of its own."""

    def __init__(self, base, name, receiver, **keys):
        self.dir = os.path.join(base, name)
        os.makedirs(self.dir, exist_ok=True)
        self.conf = os.path.join(self.dir, "lqos_test.conf")
        self.db = os.path.join(self.dir, "state", "t.db")
        self.receiver = receiver
        self.keys = {"database_path": self.db, "webhook_prompt_delivery": "false",
                     "webhook_url": receiver.url("/hook") if receiver else ""}
        self.keys.update(keys)
        self.write()

    def write(self, **changes):
        self.keys.update(changes)
        write_conf(self.conf, **{k: v for k, v in self.keys.items() if v is not None})

    def submit(self, body=None, **kw):
        status, raw, doc = submit_cgi(self.conf, body or fixture("native_single.json"), **kw)
        ok = status == 200 and isinstance(doc, dict) and doc.get("stored") is True
        if not ok:
            raise AssertionError(f"submission failed: {status} {raw[:400]!r}")
        return doc["test_id"]

    def flush(self, now=None, args=(), timeout=90):
        return flush(self.conf, now, args, timeout)


def numbers_equal(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) < 1e-9


# ------------------------------------------------------------------ scenarios


def scenario_signatures_and_payload(base):
    rcv = Receiver()
    try:
        # Non-ASCII in the secret and the User-Agent: the guide's function
        # encodes both as UTF-8, so the server must sign those bytes.
        secret = "guide-shared-secret/+=with symbols ë-ключ"
        sc = Scenario(base, "sig", rcv, webhook_secret=secret)
        ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) itest-signature Ünïcödé 日本語 \"q\""
        single = sc.submit(fixture("native_single.json"), ip="198.51.100.23", ua=ua)
        house = sc.submit(fixture("native_household.json"), ip="2001:db8::23", ua=ua)
        orig = sc.submit(fixture("original_household.json"), ip="198.51.100.24", ua=None)
        before = int(time.time())
        rc, _, err, _ = sc.flush()
        check("sig: flusher exit 0", rc == 0, err)
        got = rcv.got("/hook")
        check("sig: three deliveries", len(got) == 3, f"{len(got)} received")
        by_id = {r["headers"].get("webhook-id"): r for r in got}
        check("sig: webhook-id is the test_id", set(by_id) == {single, house, orig}, str(set(by_id)))
        _, _, recent = get_cgi(RECENT, sc.conf, "limit=10")
        api_rows = {t["test_id"]: t for t in (recent or {}).get("tests", [])}
        for tid in (single, house, orig):
            r = by_id.get(tid)
            if not check(f"sig: {tid} received", r is not None):
                continue
            h, body = r["headers"], r["body"]
            check("sig: Content-Type application/json",
                  h.get("content-type", "").split(";")[0].strip() == "application/json",
                  h.get("content-type"))
            check("sig: User-Agent names lqos-telemetry", "lqos-telemetry" in h.get("user-agent", ""),
                  h.get("user-agent"))
            sig = h.get("x-libreqos-signature", "")
            check("sig: guide's verify_webhook accepts the received bytes",
                  verify_webhook(body.decode("utf-8"), sig, secret), sig)
            check("sig: verify_webhook rejects other bytes",
                  not verify_webhook(body.decode("utf-8") + " ", sig, secret))
            check("sig: verify_webhook rejects another secret",
                  not verify_webhook(body.decode("utf-8"), sig, secret + "x"))
            ts = h.get("webhook-timestamp", "")
            check("sig: webhook-timestamp is now", ts.isdigit() and abs(int(ts) - before) <= 60, ts)
            want = standard_signature(secret.encode(), tid, ts, body)
            check("sig: Standard Webhooks signature over id.timestamp.body",
                  want in h.get("webhook-signature", "").split(" "),
                  f"{h.get('webhook-signature')} != {want}")
            doc = json.loads(body)
            row = stored_row(sc.db, tid)
            api = api_rows.get(tid)
            if not check("sig: stored row and API row exist", row is not None and api is not None):
                continue
            household = row["test_type"] == "virtual_household"
            keys = GUIDE_KEYS | ({"virtual_household"} if household else set())
            check("sig: exactly the guide's fields", set(doc) == keys, str(sorted(doc)))
            check("sig: bufferbloat fields", set(doc.get("bufferbloat", {})) == BUFFERBLOAT_KEYS,
                  str(doc.get("bufferbloat")))
            bb = doc.get("bufferbloat", {})
            for src in (row, api):
                check("sig: test_id", doc["test_id"] == src["test_id"])
                check("sig: timestamp", doc["timestamp"] == src["timestamp"]
                      and TIMESTAMP_RE.match(doc["timestamp"]), doc["timestamp"])
                check("sig: source", doc["source"] == "libreqos-bufferbloat")
                check("sig: client_ip", doc["client_ip"] == src["client_ip"], doc["client_ip"])
                check("sig: user_agent", doc["user_agent"] == src["user_agent"], doc["user_agent"])
                check("sig: test_type", doc["test_type"] == src["test_type"])
                check("sig: download_mbps", numbers_equal(doc["download_mbps"], src["download_mbps"]))
                check("sig: upload_mbps", numbers_equal(doc["upload_mbps"], src["upload_mbps"]))
                check("sig: ping_ms is the baseline",
                      numbers_equal(doc["ping_ms"], src["baseline_latency_ms"]))
                check("sig: overall_grade string", isinstance(bb.get("overall_grade"), str)
                      and bb.get("overall_grade") == src["overall_grade"], str(bb.get("overall_grade")))
                for k in ("download_latency_increase_ms", "upload_latency_increase_ms",
                          "bidirectional_latency_increase_ms"):
                    check(f"sig: {k}", numbers_equal(bb.get(k), src[k]), f"{bb.get(k)} vs {src[k]}")
                if household:
                    vh = doc.get("virtual_household", {})
                    check("sig: virtual_household letters", set(vh) == HOUSEHOLD_KEYS
                          and all(v in LETTERS for v in vh.values()), str(vh))
                    for who in ("alex", "sarah", "jake", "computer"):
                        check(f"sig: {who}_performance", vh.get(f"{who}_performance") == src[f"{who}_grade"])
        check("sig: client IP and UA as submitted",
              by_id.get(single) and json.loads(by_id[single]["body"])["client_ip"] == "198.51.100.23"
              and json.loads(by_id[single]["body"])["user_agent"] == ua)
        check("sig: IPv6 client canonical",
              by_id.get(house) and json.loads(by_id[house]["body"])["client_ip"] == "2001:db8::23")
        check("sig: no User-Agent gives null",
              by_id.get(orig) and json.loads(by_id[orig]["body"])["user_agent"] is None)
        check("sig: original letters kept",
              by_id.get(orig) and json.loads(by_id[orig]["body"]).get("virtual_household") ==
              {"alex_performance": "A", "sarah_performance": "B", "jake_performance": "A+",
               "computer_performance": "C"})

        # A whsec_ secret: Standard Webhooks uses its decoded bytes; the
        # guide's header still verifies with the secret as written.
        key = bytes(range(7, 39))
        wsecret = "whsec_" + base64.b64encode(key).decode()
        sc.write(webhook_secret=wsecret)
        tid = sc.submit()
        sc.flush()
        r = [x for x in rcv.got("/hook") if x["headers"].get("webhook-id") == tid]
        if check("sig: whsec delivery", len(r) == 1, str(len(r))):
            h, body = r[0]["headers"], r[0]["body"]
            check("sig: whsec Standard Webhooks signature",
                  standard_signature(key, tid, h.get("webhook-timestamp"), body)
                  in h.get("webhook-signature", "").split(" "), h.get("webhook-signature"))
            check("sig: whsec legacy signature",
                  verify_webhook(body.decode(), h.get("x-libreqos-signature", ""), wsecret))

        # No secret: unsigned, still identified.
        sc.write(webhook_secret=None)
        tid = sc.submit()
        sc.flush()
        r = [x for x in rcv.got("/hook") if x["headers"].get("webhook-id") == tid]
        if check("sig: unsigned delivery", len(r) == 1, str(len(r))):
            h = r[0]["headers"]
            check("sig: unsigned has no signature headers",
                  "x-libreqos-signature" not in h and "webhook-signature" not in h, str(h))
            check("sig: unsigned has webhook-timestamp", h.get("webhook-timestamp", "").isdigit())
    finally:
        rcv.close()


def scenario_retries_and_backoff(base):
    rcv = Receiver()
    try:
        sc = Scenario(base, "backoff", rcv, webhook_secret="s")
        # 500, 500, then 200: same id and bytes every time, doubling delays.
        rcv.script["/hook"] = ["500", "500"]
        tid = sc.submit()
        t0 = int(time.time())
        sc.flush(now=t0)
        row = outbox_row(sc.db, tid)
        check("backoff: first 500 recorded", len(rcv.got()) == 1 and row["attempts"] == 1
              and row["state"] == "pending" and row["last_status"] == 500, str(row))
        n1 = row["next_attempt_at"]
        check("backoff: first retry ~30 s later", t0 + 24 <= n1 <= t0 + 36, f"{n1 - t0}")
        sc.flush(now=t0 + 10)
        check("backoff: nothing sent at +10 s", len(rcv.got()) == 1, str(len(rcv.got())))
        sc.flush(now=n1 - 1)
        check("backoff: nothing sent just before next_attempt_at", len(rcv.got()) == 1)
        sc.flush(now=n1)
        check("backoff: sent at next_attempt_at", len(rcv.got()) == 2, str(len(rcv.got())))
        row = outbox_row(sc.db, tid)
        n2 = row["next_attempt_at"]
        check("backoff: second retry ~60 s later", n1 + 48 <= n2 <= n1 + 72, f"{n2 - n1}")
        sc.flush(now=n2 - 1)
        check("backoff: not before the second retry", len(rcv.got()) == 2)
        sc.flush(now=n2)
        got = rcv.got()
        row = outbox_row(sc.db, tid)
        check("backoff: delivered on the third attempt", len(got) == 3 and row["state"] == "delivered"
              and row["attempts"] == 3 and row["last_status"] == 200, str(row))
        check("backoff: same webhook-id across retries",
              [r["headers"].get("webhook-id") for r in got] == [tid] * 3)
        check("backoff: same bytes across retries", len({r["body"] for r in got}) == 1)
        check("backoff: webhook-timestamp follows --now",
              [r["headers"].get("webhook-timestamp") for r in got] == [str(t0), str(n1), str(n2)])
        check("backoff: each retry signed for its timestamp",
              all(standard_signature(b"s", tid, r["headers"]["webhook-timestamp"], r["body"])
                  == r["headers"].get("webhook-signature") for r in got))
        sc.flush(now=n2 + 100 * HOUR)
        check("backoff: delivered is final", len(rcv.got()) == 3)

        # 429 with Retry-After: 120 is honoured instead of the backoff.
        rcv.script["/hook"] = ["429"]
        tid = sc.submit()
        t0 = int(time.time())
        mark = rcv.count()
        sc.flush(now=t0)
        row = outbox_row(sc.db, tid)
        check("429: attempt recorded", len(rcv.got(since=mark)) == 1 and row["last_status"] == 429)
        check("429: next attempt at Retry-After", row["next_attempt_at"] == t0 + 120,
              f"{row['next_attempt_at'] - t0}")
        sc.flush(now=t0 + 60)
        check("429: not retried at +60 s", len(rcv.got(since=mark)) == 1)
        sc.flush(now=t0 + 121)
        check("429: retried at +121 s", len(rcv.got(since=mark)) == 2
              and outbox_row(sc.db, tid)["state"] == "delivered")

        # Retry-After as an HTTP date (RFC 9110 allows both forms).
        rcv.script["/hook"] = ["429"]
        rcv.retry_after = email.utils.formatdate(time.time() + 300, usegmt=True)
        tid = sc.submit()
        t0 = int(time.time())
        sc.flush(now=t0)
        row = outbox_row(sc.db, tid)
        check("429: Retry-After HTTP date honoured", t0 + 290 <= row["next_attempt_at"] <= t0 + 301,
              f"{row['next_attempt_at'] - t0} for {rcv.retry_after}")
        sc.flush(now=t0 + 301)
        check("429: retried after the date", outbox_row(sc.db, tid)["state"] == "delivered")

        # 503 with an absurd Retry-After is capped at an hour.
        rcv.script["/hook"] = ["503"]
        rcv.retry_after = "99999"
        tid = sc.submit()
        t0 = int(time.time())
        sc.flush(now=t0)
        row = outbox_row(sc.db, tid)
        check("503: Retry-After capped at 3600 s", row["next_attempt_at"] == t0 + 3600,
              f"{row['next_attempt_at'] - t0}")
        sc.flush(now=t0 + 3600)
        check("503: retried after the cap", outbox_row(sc.db, tid)["state"] == "delivered")

        # Past webhook_max_age_hours (72): failed, kept, counted.
        rcv.modes["/hook"] = "500"
        tid = sc.submit()
        t0 = int(time.time())
        mark = rcv.count()
        sc.flush(now=t0)
        sc.flush(now=t0 + 71 * HOUR)
        row = outbox_row(sc.db, tid)
        check("max age: still pending at 71 h", row["state"] == "pending" and row["attempts"] == 2,
              str(row))
        rc, _, err, _ = sc.flush(now=t0 + 72 * HOUR + 5)
        row = outbox_row(sc.db, tid)
        check("max age: failed after 72 h", row["state"] == "failed" and row["attempts"] == 3, str(row))
        check("max age: payload kept for inspection", tid in (row["payload"] or ""))
        check("max age: give-up logged", "Webhook delivery failed" in err and tid in err
              and "given up" in err, err[-400:])
        sc.flush(now=t0 + 200 * HOUR)
        check("max age: never sent again", len(rcv.got(since=mark)) == 3, str(len(rcv.got(since=mark))))
        _, _, stats = get_cgi(STATS, sc.conf)
        wq = ((stats or {}).get("webhook_queue") or {}).get("webhook") or {}
        check("max age: stats count the failed event", wq.get("failed") == 1 and wq.get("pending") == 0,
              str(wq))
        check("max age: stats last_error", wq.get("last_error") == "HTTP 500", str(wq))
        rc, out, _, _ = sc.flush(args=["--status"])
        check("max age: --status shows failed 1", rc == 0 and re.search(r"failed 1\b", out), out)
    finally:
        rcv.close()


def scenario_redirect_and_gone(base):
    rcv = Receiver()
    try:
        rcv.modes["/hook"] = "301"
        sc = Scenario(base, "redirect", rcv)
        tid = sc.submit()
        t0 = int(time.time())
        rc, _, err, _ = sc.flush(now=t0)
        row = outbox_row(sc.db, tid)
        check("301: one attempt", len(rcv.got("/hook")) == 1)
        check("301: redirect not followed", rcv.got("/moved") == [])
        check("301: counted as a failure", row["state"] == "pending" and row["last_status"] == 301
              and "redirect" in (row["last_error"] or ""), str(row))
        check("301: logged", "Webhook delivery failed" in err and tid in err and "301" in err, err)
        sc.flush(now=t0 + HOUR)
        check("301: still not followed on retry", rcv.got("/moved") == [] and len(rcv.got("/hook")) == 2)

        rcv2 = Receiver()
        try:
            rcv2.modes["/gone"] = "410"
            sc = Scenario(base, "gone", rcv2, webhook_url=rcv2.url("/gone"))
            ids = [sc.submit() for _ in range(3)]
            t0 = int(time.time())
            rc, out, err, _ = sc.flush(now=t0)
            check("410: one request, then stop", len(rcv2.got()) == 1, str(len(rcv2.got())))
            sc.flush(now=t0 + 10 * HOUR)
            sc.flush(now=t0 + 20 * HOUR)
            check("410: later runs send nothing even when due", len(rcv2.got()) == 1,
                  str(len(rcv2.got())))
            states = [outbox_row(sc.db, i)["state"] for i in ids]
            check("410: events kept pending", states == ["pending"] * 3, str(states))
            rc, out, _, _ = sc.flush(args=["--status"])
            check("410: --status says stopped", "410" in out, out)
            sc.write(webhook_url=rcv2.url("/new"))
            sc.flush(now=t0 + 21 * HOUR)
            new = rcv2.got("/new")
            check("410: new webhook_url resumes delivery",
                  sorted(r["headers"].get("webhook-id") for r in new) == sorted(ids),
                  str([r["headers"].get("webhook-id") for r in new]))
            states = [outbox_row(sc.db, i)["state"] for i in ids]
            check("410: all delivered to the new URL", states == ["delivered"] * 3, str(states))
        finally:
            rcv2.close()
    finally:
        rcv.close()


def scenario_hang_and_budget(base):
    rcv = Receiver()
    try:
        rcv.modes["/hang"] = "hang"
        sc = Scenario(base, "hang", rcv, webhook_url=rcv.url("/hang"), webhook_timeout="2",
                      webhook_connect_timeout="1")
        tid = sc.submit()
        rc, _, err, secs = sc.flush()
        row = outbox_row(sc.db, tid)
        check("hang: run bounded by webhook_timeout", 1.5 <= secs <= 6, f"{secs:.1f} s")
        check("hang: receiver got the request", len(rcv.got("/hang")) == 1)
        check("hang: failure recorded", row["state"] == "pending" and row["attempts"] == 1
              and row["last_status"] is None and row["last_error"], str(row))
        check("hang: logged", "Webhook delivery failed" in err and tid in err, err)
        # Many hanging events: the run stops taking work within its budget
        # and hands the rest back untouched.
        ids = [sc.submit() for _ in range(6)]
        t0 = int(time.time()) + HOUR
        rc, _, err, secs = sc.flush(now=t0, args=["--budget", "5"])
        check("budget: run ends within --budget", secs <= 5 + 2, f"{secs:.1f} s")
        rows = [outbox_row(sc.db, i) for i in [tid] + ids]
        tried = [r for r in rows if r["last_attempt_at"] == t0]
        rest = [r for r in rows if r["last_attempt_at"] != t0]
        check("budget: a few attempted, the rest handed back", 1 <= len(tried) <= 3
              and len(rcv.got("/hang")) == 1 + len(tried), f"tried {len(tried)}")
        check("budget: the rest released untouched (claimable, no attempt counted)",
              rest and all(r["lease_until"] == 0 and r["next_attempt_at"] <= t0 for r in rest)
              and sum(r["attempts"] for r in rest) <= 1, str(rest))
    finally:
        rcv.close()


def scenario_killed_flusher(base):
    rcv = Receiver()
    try:
        rcv.modes["/slow"] = "slow"
        rcv.slow_seconds = 6
        sc = Scenario(base, "kill", rcv, webhook_url=rcv.url("/slow"), webhook_timeout="20")
        tid = sc.submit()
        t0 = int(time.time())
        p = subprocess.Popen([FLUSH, "--config", sc.conf], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            in_flight = rcv.wait_for(lambda reqs: len(reqs) == 1, 10)
            check("kill: request in flight", in_flight)
            # Runs never overlap: a second one (even far in the future)
            # finds the lock taken and leaves at once.
            rc, _, err, secs = sc.flush(now=t0 + 10 * HOUR)
            check("lock: overlapping run exits at once", rc == 0 and secs < 2
                  and "lock" in err, f"rc {rc}, {secs:.1f} s: {err}")
            check("lock: overlapping run sent nothing", len(rcv.got()) == 1)
        finally:
            p.send_signal(signal.SIGKILL)
            p.wait(timeout=30)
        row = outbox_row(sc.db, tid)
        check("kill: event still pending after SIGKILL", row["state"] == "pending", str(row))
        check("kill: leased, not lost", row["lease_until"] > t0, str(row))
        rcv.modes["/slow"] = "200"
        sc.flush()
        check("kill: lease honoured before it expires", len(rcv.got()) == 1, str(len(rcv.got())))
        sc.flush(now=t0 + 5 + 20 + 30 + 5)
        got = rcv.got()
        row = outbox_row(sc.db, tid)
        check("kill: delivered after the lease expired", row["state"] == "delivered", str(row))
        check("kill: at most one duplicate", len(got) == 2, str(len(got)))
        check("kill: duplicate has the same webhook-id",
              {r["headers"].get("webhook-id") for r in got} == {tid})
        check("kill: duplicate has the same bytes", len({r["body"] for r in got}) == 1)
    finally:
        rcv.close()


def scenario_backlog_1500(base):
    rcv = Receiver(listen=False)
    try:
        sc = Scenario(base, "backlog", rcv, max_tests_per_ip_per_hour="0")
        body = fixture("native_single.json")
        t_start = time.monotonic()

        def one(i):
            return submit_cgi(sc.conf, body, ip=f"10.{i // 250}.{i % 250}.7")

        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
            results = list(ex.map(one, range(1500)))
        t_submit = time.monotonic() - t_start
        ok = [doc["test_id"] for status, _, doc in results if status == 200 and doc and doc.get("stored")]
        check("backlog: 1500 submissions stored", len(ok) == 1500 and len(set(ok)) == 1500, str(len(ok)))
        check("backlog: test_results keeps 1000",
              q(sc.db, "SELECT count(*) FROM test_results")[0][0] == 1000)
        check("backlog: 1500 events queued",
              q(sc.db, "SELECT count(*) FROM webhook_outbox WHERE state = 'pending'")[0][0] == 1500)
        t0 = int(time.time())
        rc, _, err, secs_down = sc.flush(now=t0, args=["--quiet"])
        attempted = q(sc.db, "SELECT count(*) FROM webhook_outbox WHERE attempts > 0")[0][0]
        check("backlog: receiver down, nothing lost", rc == 0 and attempted > 0 and
              q(sc.db, "SELECT count(*) FROM webhook_outbox WHERE state = 'pending'")[0][0] == 1500,
              f"rc {rc}, attempted {attempted}")
        rcv.listen()
        runs = 0
        t_deliver = time.monotonic()
        for k in range(1, 11):
            runs = k
            sc.flush(now=t0 + k * HOUR, args=["--quiet"])
            if q(sc.db, "SELECT count(*) FROM webhook_outbox WHERE state = 'pending'")[0][0] == 0:
                break
        t_deliver = time.monotonic() - t_deliver
        got = rcv.got("/hook")
        ids = [r["headers"].get("webhook-id") for r in got]
        check("backlog: all 1500 distinct test_ids delivered", set(ids) == set(ok),
              f"{len(set(ids))} distinct of {len(ok)}")
        check("backlog: no duplicates", len(ids) == len(set(ids)), f"{len(ids)} received")
        check("backlog: bodies carry their test_id",
              all(json.loads(r["body"])["test_id"] == r["headers"].get("webhook-id") for r in got))
        check("backlog: outbox all delivered",
              q(sc.db, "SELECT count(*) FROM webhook_outbox WHERE state = 'delivered'")[0][0] == 1500)
        print(f"backlog: 1500 submissions in {t_submit:.1f} s; down run {secs_down:.1f} s; "
              f"delivered in {runs} run(s), {t_deliver:.1f} s", flush=True)
    finally:
        rcv.close()


def scenario_concurrent_submissions(base):
    rcv = Receiver()
    try:
        rcv.modes["/hook"] = "slow"
        rcv.slow_seconds = 0.02
        sc = Scenario(base, "concurrent", rcv, max_tests_per_ip_per_hour="0")
        body = fixture("native_single.json")
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
            first = list(ex.map(lambda i: submit_cgi(sc.conf, body, ip=f"10.1.{i % 200}.9"), range(200)))
        check("concurrent: backlog stored", all(s == 200 for s, _, _ in first))
        p = subprocess.Popen([FLUSH, "--config", sc.conf], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            with concurrent.futures.ThreadPoolExecutor(max_workers=8) as ex:
                during = list(ex.map(lambda i: submit_cgi(sc.conf, body, ip=f"10.2.{i % 200}.9"),
                                     range(200)))
            overlapped = p.poll() is None
            _, ferr = p.communicate(timeout=90)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        check("concurrent: submissions overlapped the flusher run", overlapped)
        statuses = [s for s, _, _ in during]
        check("concurrent: no 5xx (all 200)", all(s == 200 for s in statuses),
              str(sorted(set(statuses))))
        bad = [raw for _, raw, _ in during
               if re.search(rb"SQLITE_BUSY|database is locked|busy", raw, re.I)]
        check("concurrent: no SQLITE_BUSY text", not bad, repr(bad[:1]))
        check("concurrent: flusher ok", p.returncode == 0 and "cannot claim" not in ferr, ferr[-300:])
        sc.flush(now=int(time.time()) + HOUR)
        ids = {r["headers"].get("webhook-id") for r in rcv.got("/hook")}
        want = {d["test_id"] for _, _, d in first + during if d}
        check("concurrent: all 400 delivered", ids == want and len(want) == 400,
              f"{len(ids)} of {len(want)}")
    finally:
        rcv.close()


def scenario_central(base):
    rcv = Receiver()
    try:
        sc = Scenario(base, "central", rcv, webhook_secret="central-test-secret",
                      central_telemetry_url=rcv.url("/central"))
        ip4, ip6 = "198.51.100.77", "2001:db8:77::4242"
        ua = "Mozilla/5.0 CentralPrivacyProbe/9.87 (xyzzy)"
        ids = [sc.submit(fixture("native_single.json"), ip=ip4, ua=ua),
               sc.submit(fixture("native_household.json"), ip=ip6, ua=ua)]
        sc.flush()
        central = rcv.got("/central")
        hook = rcv.got("/hook")
        check("central: both forwarded", len(central) == 2, str(len(central)))
        check("central: the ISP webhook still has the IP (sanity)",
              any(ip4.encode() in r["body"] for r in hook))
        forbidden = [ip4.encode(), ip6.encode(), ua.encode(), b"CentralPrivacyProbe"]
        forbidden += [i.encode() for i in ids]
        forbidden += [bytes(int(x) for x in ip4.split(".")), socket.inet_pton(socket.AF_INET6, ip6)]
        for r in central:
            blob = r["body"] + "".join(f"{k}: {v}\n" for k, v in r["header_list"]).encode()
            leaks = [f for f in forbidden if f in blob]
            check("central: no IP, User-Agent or test_id in body or headers", not leaks, repr(leaks))
            # The test_id's seconds would date the test to the second (the
            # webhook-timestamp header is the send time, not the test's).
            leaks = [i.split("_")[1] for i in ids if i.split("_")[1].encode() in r["body"]]
            check("central: body has no test time to the second", not leaks, repr(leaks))
            doc = json.loads(r["body"])
            check("central: no identifying keys", not ({"client_ip", "user_agent", "test_id"} & set(doc)),
                  str(sorted(doc)))
            check("central: hour-truncated timestamp",
                  re.match(r"^\d{4}-\d\d-\d\dT\d\d:00:00Z$", doc.get("timestamp", "")), doc.get("timestamp"))
            check("central: webhook-id is not the test_id", r["headers"].get("webhook-id") not in ids)
            check("central: keeps the measurements", isinstance(doc.get("bufferbloat", {}).get("overall_grade"), str)
                  and doc.get("test_type") in ("single_user", "virtual_household"), str(doc))
            check("central: secret not sent there", "central-test-secret" not in
                  "".join(v for _, v in r["header_list"]) and "x-libreqos-signature" not in r["headers"])
    finally:
        rcv.close()


# ------------------------------------------------------------------ Apache


def http_request(port, method, path, body=None, headers=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        try:
            doc = json.loads(data)
        except ValueError:
            doc = None
        return r.status, data, doc
    finally:
        conn.close()


def read_file(path):
    try:
        with open(path, "r", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def wait_until(pred, timeout, step=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def state_holders(folder):
    """Processes (that we may inspect) with a file of `folder` open."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(os.readlink(f"/proc/{pid}/fd/{fd}").startswith(folder + "/") for fd in fds):
                found.append(pid)
        except OSError:
            pass
    return found


def apache_available():
    have = any(os.access(b, os.X_OK) for b in ("/usr/sbin/apache2", "/usr/sbin/httpd"))
    mods = any(os.path.isfile(os.path.join(d, "mod_cgid.so"))
               for d in ("/usr/lib/apache2/modules", "/usr/lib64/httpd/modules", "/usr/libexec/apache2"))
    return have and mods


def scenario_apache(base):
    if not apache_available():
        lq.skip_check("prompt delivery through Apache", "Apache with mod_cgid not installed")
        return
    rcv = Receiver()
    rundir = os.path.join(base, "apache")
    os.makedirs(rundir)
    conf = os.path.join(rundir, "lqos_test.conf")
    secret = "apache-webhook-secret-6f1d"
    keys = {"database_path": os.path.join(rundir, "state", "isp_telemetry.db"),
            "webhook_url": rcv.url("/slow"), "webhook_secret": secret, "webhook_timeout": "15",
            "webhook_prompt_delivery": "true"}
    write_conf(conf, **keys)
    rcv.modes["/slow"] = "slow"
    rcv.slow_seconds = 10
    rcv.modes["/err"] = "500"
    port = free_port()
    state = os.path.join(rundir, "state")
    errlog = os.path.join(rundir, "logs", "error.log")
    body = fixture("native_single.json")
    hdrs = {"Content-Type": "application/json", "User-Agent": "itest-apache/1"}
    try:
        lq.start_private_apache(rundir, port, timeout=90)
        start_error = ""
    except RuntimeError as e:
        start_error = str(e)
    if not check("apache: private Apache started", start_error == "", start_error[-500:]):
        rcv.close()
        return
    try:
        # Prompt delivery to a portal that takes 10 s: the customer does
        # not wait, the portal still gets the result within ~15 s.
        t = time.monotonic()
        status, raw, doc = http_request(port, "POST", "/api/telemetry", body, hdrs)
        answered = time.monotonic() - t
        tid = (doc or {}).get("test_id")
        check("apache: submission stored", status == 200 and tid, raw[:300])
        check("apache: response does not wait on the portal", answered < 2.0, f"{answered:.2f} s")
        got = rcv.wait_for(lambda reqs: any(r["headers"].get("webhook-id") == tid and r["answered"]
                                            for r in reqs), 16)
        arrived = [r for r in rcv.got("/slow") if r["headers"].get("webhook-id") == tid]
        check("apache: slow portal got the event without a manual flush", got and arrived,
              str(len(arrived)))
        if arrived:
            check("apache: the event arrived at once", arrived[0]["t"] - t < 3,
                  f"{arrived[0]['t'] - t:.1f} s")

        def queue():
            _, _, st = http_request(port, "GET", "/api/telemetry/stats")
            return ((st or {}).get("webhook_queue") or {}).get("webhook") or {}

        check("apache: recorded as delivered within ~15 s",
              wait_until(lambda: queue().get("delivered") == 1, max(0.5, 16 - (time.monotonic() - t)), 0.25),
              str(queue()))
        print(f"apache: POST answered in {answered * 1000:.0f} ms; slow portal delivery recorded after "
              f"{time.monotonic() - t:.1f} s", flush=True)

        # A normal portal gets it within a few seconds.
        keys["webhook_url"] = rcv.url("/fast")
        write_conf(conf, **keys)
        t = time.monotonic()
        status, raw, doc = http_request(port, "POST", "/api/telemetry", body, hdrs)
        tid2 = (doc or {}).get("test_id")
        check("apache: fast submission stored", status == 200 and tid2, raw[:300])
        ok = rcv.wait_for(lambda reqs: any(r["headers"].get("webhook-id") == tid2 for r in reqs), 5)
        check("apache: normal portal gets it within seconds", ok)
        print(f"apache: normal portal received after {time.monotonic() - t:.2f} s", flush=True)
        fast = [r for r in rcv.got("/fast") if r["headers"].get("webhook-id") == tid2]
        if fast:
            check("apache: prompt delivery is signed", verify_webhook(
                fast[0]["body"].decode(), fast[0]["headers"].get("x-libreqos-signature", ""), secret))
        check("apache: log names the webhook",
              wait_until(lambda: f"ISP telemetry: local storage + webhook to {rcv.url('/fast')}"
                         in read_file(errlog), 3), read_file(errlog)[-600:])

        # Many customers at once: every result still arrives promptly (one
        # flusher holds the lock, the others' events are picked up by it).
        t = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as ex:
            burst = list(ex.map(lambda i: http_request(port, "POST", "/api/telemetry", body, hdrs),
                                range(32)))
        burst_ids = {(d or {}).get("test_id") for _, _, d in burst}
        check("apache: burst stored", all(st == 200 for st, _, _ in burst) and len(burst_ids) == 32
              and None not in burst_ids, str([st for st, _, _ in burst]))

        def burst_arrived(reqs):
            return burst_ids <= {r["headers"].get("webhook-id") for r in reqs}
        check("apache: burst of 32 all delivered within seconds", rcv.wait_for(burst_arrived, 10),
              f"{len(burst_ids - {r['headers'].get('webhook-id') for r in rcv.got()})} missing")
        print(f"apache: 32 concurrent results all at the portal after {time.monotonic() - t:.2f} s",
              flush=True)
        # A running flusher keeps the config it started with: let the
        # burst's flushers finish before the next change of webhook_url.
        check("apache: prompt flushers all exit", wait_until(lambda: not state_holders(state), 15, 0.2),
              str(state_holders(state)))

        # The portal errors: the prompt path logs it with the test id.
        keys["webhook_url"] = rcv.url("/err")
        write_conf(conf, **keys)
        status, raw, doc = http_request(port, "POST", "/api/telemetry", body, hdrs)
        tid3 = (doc or {}).get("test_id")
        check("apache: submission stored while the portal errors", status == 200 and tid3, raw[:300])
        logged = wait_until(lambda: any("Webhook delivery failed" in line and tid3 in line
                                        for line in read_file(errlog).splitlines()), 8)
        check("apache: error log has 'Webhook delivery failed' with the test id", logged,
              read_file(errlog)[-800:])
        check("apache: the failure line names the status",
              any("Webhook delivery failed" in line and tid3 in line and "500" in line
                  for line in read_file(errlog).splitlines()))

        # Stats: the queue, never the secret (nor a password in the URL).
        keys["webhook_url"] = f"http://lqosuser:urlpass9137@127.0.0.1:{rcv.port}/fast"
        write_conf(conf, **keys)
        status, raw, st = http_request(port, "GET", "/api/telemetry/stats")
        wq = ((st or {}).get("webhook_queue") or {})
        check("apache: stats has the webhook queue", status == 200 and
              all(k in wq.get("webhook", {}) for k in ("pending", "delivered", "failed",
                                                       "oldest_pending_age_seconds", "last_error",
                                                       "last_error_at", "last_delivery_at"))
              and "central" in wq, raw[:500])
        check("apache: stats counts", wq.get("webhook", {}).get("delivered") == 2 + 32
              and wq.get("webhook", {}).get("pending") == 1, str(wq))
        check("apache: stats never shows the secret", secret.encode() not in raw)
        check("apache: stats hides the URL password", b"urlpass9137" not in raw, raw[:400])
        rc, out, err, _ = flush(conf, args=["--status"])
        check("apache: --status prints the queue", rc == 0 and re.search(r"pending 1\b", out)
              and re.search(r"delivered 34\b", out) and re.search(r"failed 0\b", out), out + err)
        check("apache: --status hides secrets", secret not in out and "urlpass9137" not in out, out)

        if os.geteuid() == 0:
            # As root against the www-data database: files stay www-data's.
            www = pwd.getpwnam("www-data")
            lock = keys["database_path"] + ".flush.lock"
            # Wait for any prompt flusher to finish (it holds the lock).
            def unlocked():
                if not os.path.exists(lock):
                    return True
                with open(lock) as f:
                    try:
                        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        fcntl.flock(f, fcntl.LOCK_UN)
                        return True
                    except OSError:
                        return False
            wait_until(unlocked, 20)
            idle = wait_until(lambda: not state_holders(state), 20, 0.2)
            check("root: nobody holds the database before the root run", idle, str(state_holders(state)))
            # Let the root run create the lock and shared-memory files
            # itself (both are rebuilt; the WAL with its data stays).
            for extra in (lock, keys["database_path"] + "-shm"):
                if idle and os.path.exists(extra):
                    os.unlink(extra)
            keys["webhook_url"] = rcv.url("/fast")
            write_conf(conf, **keys)
            rc, out, err, _ = flush(conf, now=int(time.time()) + HOUR)
            check("root: flusher run ok", rc == 0, err)
            check("root: the pending event went out",
                  any(r["headers"].get("webhook-id") == tid3 for r in rcv.got("/fast")))
            owners = {f: os.stat(os.path.join(state, f)).st_uid for f in os.listdir(state)}
            check("root: every database file still www-data's",
                  owners and all(u == www.pw_uid for u in owners.values()), str(owners))
            status, raw, doc = http_request(port, "POST", "/api/telemetry", body, hdrs)
            check("root: a submission through Apache still succeeds afterwards",
                  status == 200 and (doc or {}).get("stored") is True, raw[:300])
            tid4 = (doc or {}).get("test_id")
            check("root: prompt delivery as www-data still works afterwards",
                  rcv.wait_for(lambda reqs: any(r["headers"].get("webhook-id") == tid4 for r in reqs), 5),
                  read_file(errlog)[-400:])
        else:
            lq.skip_check("apache: root-run flusher keeps www-data's ownership", "needs root")
        check("apache: no secret in the error log", secret not in read_file(errlog)
              and "urlpass9137" not in read_file(errlog))
    finally:
        lq.stop_private_apache(rundir)
        rcv.close()


SCENARIOS = [
    scenario_signatures_and_payload,
    scenario_retries_and_backoff,
    scenario_redirect_and_gone,
    scenario_hang_and_budget,
    scenario_killed_flusher,
    scenario_central,
    scenario_concurrent_submissions,
    scenario_backlog_1500,
    scenario_apache,
]


def main():
    for prog in (SUBMIT, FLUSH, RECENT, STATS):
        if not os.access(prog, os.X_OK):
            return lq.skip(f"{prog} not built")
    why = backend.start()
    if why:
        return lq.skip(f"{backend.NAME} back end: {why}")
    only = set(sys.argv[1:])
    t_all = time.monotonic()
    with lq.scratch_dir("lqos-webhook-it.", mode=0o755) as base:
        for sc in SCENARIOS:
            if only and sc.__name__ not in only and sc.__name__.replace("scenario_", "") not in only:
                continue
            lq.run_timed(sc, base)
    backend.stop()
    return lq.finish(t_all)


if __name__ == "__main__":
    sys.exit(main())
