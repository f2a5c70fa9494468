#!/usr/bin/env python3
"""Hostile input through the real private Apache (SPEC section 8,
"Reliability"; issue 6).

Every input here is something a client on the internet can send: broken,
deeply nested, duplicate-key, wrong-type and non-finite JSON; strings with
NUL, CR/LF and invalid UTF-8 (raw bytes in the body); a 100 MiB body; a
missing or lying Content-Length; very long query strings and headers;
path traversal in PATH_INFO; SQL metacharacters and CR/LF in stored
fields; spoofed client addresses (X-Forwarded-For, Forwarded, X-Real-IP,
httpoxy's Proxy header); API keys one byte off.

After each input: the right 4xx (JSON when the programs or the
ErrorDocuments answer), the stored total unchanged when the request was
bad (read through the support API), and the server still answers. Inputs
that are valid but nasty (SQL metacharacters, a folded User-Agent) must be
stored verbatim or cleaned as docs/SECURITY.md says, compared through the
API. At the end: no crash in Apache's error log.

What tests/apache_integration.py already covers once (bad JSON, 5000-deep
nesting, 411/413/415 basics, spoofed XFF without trusted proxies) is not
repeated beyond what the brief's categories need.

Prints METRIC inputs_tried=, requests_served=, crashes=, then
"RESULT: N passed, M failed". Exit 1 on failure, 77 without Apache.
"""
import http.client
import json
import os
import socket
import sys
import tempfile
import threading
import time
import http.server

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lqostest as hc  # noqa: E402
import backend  # noqa: E402
from lqostest import check, is_json_error, metric  # noqa: E402

KEY = "hostile-test-key-" + "k" * 24 + "Q"   # last byte matters below
J = {"Content-Type": "application/json"}
GOOD = hc.native_single()
GOOD_TEXT = json.dumps(GOOD)
PASSWD_MARK = b"root:x:0:0"

inputs_tried = 0


class Ctx:
    """The server, the expected stored total, and how to ask for it."""

    def __init__(self, server):
        self.s = server
        self.expected_total = None
        self.auth = {"X-API-Key": KEY}

    def total(self):
        r = self.s.get("/api/telemetry/stats", self.auth)
        if r.status != 200 or not isinstance(r.json, dict):
            return None, r
        return r.json.get("total_tests_stored"), r

    def resync(self):
        self.expected_total, _ = self.total()


def no_injected_headers(r):
    names = set(r.headers)
    return not ({"x-injected", "set-cookie", "x-evil"} & names)


def run_case(ctx, name, send, expect, json_body=True, stores=0, extra=None):
    """Send one hostile input and check the answer and its aftermath.

    send: () -> Response (or (Response, secs, timed_out) from raw sends).
    expect: allowed statuses. json_body: the answer must be the SPEC's JSON
    error (for 4xx) or a JSON success (200). stores: how many results the
    input may add (0 for every bad request). extra(resp) -> (ok, detail)."""
    global inputs_tried
    inputs_tried += 1
    timed_out = None   # only raw sends report it
    secs = 0.0
    try:
        got = send()
    except (OSError, http.client.HTTPException) as e:
        check(f"{name}: answered", False, repr(e))
        got = None
    if isinstance(got, tuple):
        got, secs, timed_out = got
    if got is not None:
        expect_t = expect if isinstance(expect, (tuple, list, set)) else (expect,)
        if json_body and got.status >= 400:
            check(f"{name}: {'/'.join(map(str, expect_t))} JSON error", is_json_error(got, expect_t),
                  f"{got!r} headers={got.headers}")
        elif json_body:
            check(f"{name}: {'/'.join(map(str, expect_t))} JSON", got.status in expect_t
                  and isinstance(got.json, dict), repr(got))
        else:
            check(f"{name}: status {'/'.join(map(str, expect_t))}", got.status in expect_t, repr(got))
        if timed_out is not None:
            check(f"{name}: answered within the timeout", not timed_out, f"{secs:.1f} s")
        check(f"{name}: nothing injected into response headers", no_injected_headers(got), got.headers)
        check(f"{name}: no file contents leaked", PASSWD_MARK not in got.body, got.body[:200])
        if extra is not None:
            ok, detail = extra(got)
            check(f"{name}: {detail[0] if isinstance(detail, tuple) else 'details'}", ok,
                  detail[1] if isinstance(detail, tuple) else detail)
    # Aftermath: still answering, nothing stored by a bad request.
    if callable(stores):
        stores = stores(got)
    total, r = ctx.total()
    if check(f"{name}: server still answers stats", total is not None, repr(r)):
        if ctx.expected_total is not None:
            want = ctx.expected_total + stores
            check(f"{name}: stored total {'unchanged' if not stores else f'+{stores}'}",
                  total == want, f"expected {want}, got {total}")
        ctx.expected_total = total
    return got


def post(ctx, body, headers=None, path="/api/telemetry"):
    hdrs = dict(J)
    hdrs.update(headers or {})
    if isinstance(body, str):
        body = body.encode("utf-8")
    return lambda: ctx.s.request("POST", path, body=body, headers=hdrs)


def raw_post(ctx, body, extra_headers=b"", content_length=None, http10=False, shut=True, timeout=20):
    cl = b"" if content_length is False else \
        b"Content-Length: %d\r\n" % (len(body) if content_length is None else content_length)
    proto = b"HTTP/1.0" if http10 else b"HTTP/1.1"
    data = (b"POST /api/telemetry " + proto + b"\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nConnection: close\r\n" + extra_headers + cl + b"\r\n" + body)
    return lambda: ctx.s.raw(data, shut_write=shut, timeout=timeout)


def with_field(doc, path, value):
    """Copy of doc with doc[path...] = value (path is a list of keys)."""
    out = json.loads(json.dumps(doc))
    cur = out
    for k in path[:-1]:
        cur = cur[k]
    cur[path[-1]] = value
    return out


def marker_body(token, doc=None, path=("download", "throughput_mbps")):
    """A result whose number at `path` is replaced by the raw `token`."""
    d = with_field(doc or GOOD, list(path), 1234567.5)
    return json.dumps(d).replace("1234567.5", token)


# ------------------------------------------------------------------ sections


def section_malformed(ctx):
    cases = ["{", "}", "{\"test_type\": ", "nul", "{'test_type': 'single_user'}",
             GOOD_TEXT[:-1] + ",}", "/* c */" + GOOD_TEXT, GOOD_TEXT + " x", GOOD_TEXT + GOOD_TEXT,
             "{\"test_type\" \"single_user\"}", "\"single_user\"", "123", "null", "true", "[]",
             "[" + GOOD_TEXT + "]", " ", "\n\n\n", "{\"test_type\": \"single_user",
             GOOD_TEXT.replace("\"", "'"), "\ufeff" + GOOD_TEXT,
             GOOD_TEXT.replace("100.0", "01"), GOOD_TEXT.replace("100.0", ".5"),
             GOOD_TEXT.replace("100.0", "1."), GOOD_TEXT.replace("100.0", "+1"),
             GOOD_TEXT.replace("100.0", "0x10"), GOOD_TEXT.replace("hardening", "a\\x41"),
             GOOD_TEXT.replace("hardening", "a\\u12"), GOOD_TEXT[:len(GOOD_TEXT) // 2]]
    for i, text in enumerate(cases):
        run_case(ctx, f"malformed JSON #{i} {text[:24]!r}", post(ctx, text), 400)


def section_nesting(ctx):
    n = 10000
    cases = {
        "10,000-deep arrays": "[" * n + "]" * n,
        "10,000-deep objects": "{\"a\":" * n + "1" + "}" * n,
        "10,000-deep array inside a valid result": GOOD_TEXT[:-1] + ", \"extra\": " + "[" * n + "]" * n + "}",
        "10,000-deep object in a known field": GOOD_TEXT.replace("\"hardening\"", "{\"a\":" * n + "1" + "}" * n),
        "10,000 unclosed brackets": "[" * n,
        "30,000-deep arrays": "[" * 30000 + "]" * 30000,
        "10,000-deep original results": "{\"telemetry_enabled\": true, \"results\": " + "[" * n + "]" * n + "}",
    }
    for name, text in cases.items():
        run_case(ctx, name, post(ctx, text), (400,))


def section_duplicates(ctx):
    orig = json.dumps(hc.original_single())
    cases = {
        "duplicate test_type (same value)": GOOD_TEXT[:-1] + ", \"test_type\": \"single_user\"}",
        "duplicate test_type (other value)": GOOD_TEXT[:-1] + ", \"test_type\": \"virtual_household\"}",
        "duplicate nested throughput": GOOD_TEXT.replace("\"download\": {", "\"download\": {\"throughput_mbps\": 1, "),
        "duplicate unknown key": GOOD_TEXT[:-1] + ", \"x\": 1, \"x\": 2}",
        "duplicate key spelled with an escape": GOOD_TEXT[:-1] + ", \"test\\u005ftype\": \"single_user\"}",
        "duplicate in original metrics": orig.replace("\"metrics\": {", "\"metrics\": {\"upload_latency_increase_ms\": 1, "),
        "duplicate telemetry_enabled": orig.replace("\"telemetry_enabled\": true", "\"telemetry_enabled\": true, \"telemetry_enabled\": false"),
    }
    for name, text in cases.items():
        run_case(ctx, name, post(ctx, text), 400)


def section_wrong_types(ctx):
    orig = hc.original_single()
    hh = hc.native_household()
    cases = []
    for v in (1, None, ["single_user"], {"x": 1}, True, "SINGLE_USER", ""):
        cases.append((f"test_type={v!r}", with_field(GOOD, ["test_type"], v)))
    for v in ([], "fast", 5, None):
        cases.append((f"download={v!r}", with_field(GOOD, ["download"], v)))
    for v in ("100", True, None, [100], {"v": 100}):
        cases.append((f"throughput={v!r}", with_field(GOOD, ["download", "throughput_mbps"], v)))
    cases.append(("baseline as string", with_field(GOOD, ["baseline_latency_ms"], "12.5")))
    cases.append(("latency increase as string", with_field(GOOD, ["upload", "latency_increase_ms"], "20")))
    cases.append(("bidirectional as string", with_field(GOOD, ["bidirectional"], "x")))
    for v in (5, ["a"], {"a": 1}, True):
        cases.append((f"server_name={v!r}", with_field(GOOD, ["server_name"], v)))
    for v in ("yes", 1, None):
        if v is None:
            continue
        cases.append((f"original telemetry_enabled={v!r}", with_field(orig, ["telemetry_enabled"], v)))
    for v in ("x", [], 5):
        cases.append((f"original results={v!r}", with_field(orig, ["results"], v)))
    for v in (5, "Z", "A++", {"grade": 5}, {"grade": "Q"}, [], ""):
        cases.append((f"original overall grade={v!r}", with_field(orig, ["results", "grades", "overall"], v)))
    cases.append(("original metric as string",
                  with_field(orig, ["results", "metrics", "download_latency_increase_ms"], "150")))
    cases.append(("household loss as string", with_field(hh, ["alex", "loss_pct"], "0")))
    cases.append(("household user as array", with_field(hh, ["jake"], [0.3, 0])))
    for name, doc in cases:
        run_case(ctx, f"wrong type: {name}", post(ctx, json.dumps(doc)), 400)


def section_non_finite(ctx):
    for tok in ("NaN", "nan", "Infinity", "-Infinity", "inf", "1e400", "-1e400", "1e999999",
                "123456789012345678901234567890", "-123456789012345678901234567890"):
        run_case(ctx, f"number token {tok}", post(ctx, marker_body(tok)), 400)
    run_case(ctx, "NaN in the original format",
             post(ctx, marker_body("NaN", hc.original_single(),
                                   ("results", "metrics", "download_latency_increase_ms"))), 400)


def section_absurd(ctx):
    hh = hc.native_household()
    orig = hc.original_single()
    cases = [
        ("download -1", ["download", "throughput_mbps"], -1, GOOD),
        ("download -0.001", ["download", "throughput_mbps"], -0.001, GOOD),
        ("download 100000.5 Mbps", ["download", "throughput_mbps"], 100000.5, GOOD),
        ("download 1e300", ["download", "throughput_mbps"], 1e300, GOOD),
        ("upload -5", ["upload", "throughput_mbps"], -5, GOOD),
        ("baseline -1", ["baseline_latency_ms"], -1, GOOD),
        ("baseline 60001 ms", ["baseline_latency_ms"], 60001, GOOD),
        ("duration -1", ["test_duration_seconds"], -1, GOOD),
        ("duration 1e9", ["test_duration_seconds"], 1e9, GOOD),
        ("latency increase -60001", ["download", "latency_increase_ms"], -60001, GOOD),
        ("latency increase 1e7", ["download", "latency_increase_ms"], 1e7, GOOD),
        ("jitter -1", ["upload", "jitter_ms"], -1, GOOD),
        ("p50 1e6", ["download", "latency_p50_ms"], 1e6, GOOD),
        ("loss 101 %", ["alex", "loss_pct"], 101, hh),
        ("loss -1 %", ["alex", "loss_pct"], -1, hh),
        ("stalls -1", ["jake", "stalls"], -1, hh),
        ("delivered 1e9 %", ["sarah", "delivered_pct"], 1e9, hh),
        ("original increase 1e12", ["results", "metrics", "download_latency_increase_ms"], 1e12, orig),
        ("original throughput -3", ["results", "metrics", "download_throughput_mbps"], -3, orig),
    ]
    for name, path, v, doc in cases:
        run_case(ctx, f"out of range: {name}", post(ctx, json.dumps(with_field(doc, path, v))), 400)


def section_strings(ctx):
    esc = [("\\u0000", "NUL escape"), ("a\\u0000b", "NUL inside"), ("a\\r\\nb", "CR/LF escape"),
           ("a\\nb", "LF escape"), ("\\t", "tab"), ("\\u001b[31mred", "ANSI escape"),
           ("\\u007f", "DEL"), ("\\ud800", "lone surrogate"), ("\\udc00x", "lone low surrogate"),
           ("x" * 129, "129 bytes"), ("x" * 10000, "10,000 bytes")]
    for text, name in esc:
        body = GOOD_TEXT.replace("\"hardening\"", "\"" + text + "\"")
        run_case(ctx, f"server_name {name}", post(ctx, body), 400)
    # Raw bytes in the body (not valid JSON text, or not UTF-8).
    raw_cases = [(b"a\x00b", "raw NUL byte"), (b"a\r\nb", "raw CR/LF"), (b"a\nb", "raw LF"),
                 (b"\xff\xfe", "invalid UTF-8 ff fe"), (b"\xc0\xaf", "overlong slash"),
                 (b"\xed\xa0\x80", "UTF-8 surrogate"), (b"\xf4\x90\x80\x80", "above U+10FFFF"),
                 (b"\xe2\x82", "truncated sequence"), (b"\x80", "lone continuation byte")]
    base = GOOD_TEXT.encode()
    for raw, name in raw_cases:
        run_case(ctx, f"server_name {name}", post(ctx, base.replace(b"hardening", raw)), 400)
    run_case(ctx, "invalid UTF-8 outside strings", post(ctx, base[:-1] + b" \xff}"), 400)
    run_case(ctx, "NUL byte after the document", post(ctx, base + b"\x00"), 400)
    # NUL-truncation: a C comparison would see "single_user".
    run_case(ctx, "test_type with NUL suffix", post(ctx, GOOD_TEXT.replace(
        "\"single_user\"", "\"single_user\\u0000evil\"")), 400)
    run_case(ctx, "original test_type with NUL suffix", post(ctx, json.dumps(hc.original_single()).replace(
        "\"single\"", "\"single\\u0000\"")), 400)


def section_framing(ctx):
    s = ctx.s
    big = 100 * 1024 * 1024

    def stream_big(chunked=False, expect_continue=False):
        """Stream up to 100 MiB; stop as soon as the server answers."""
        def go():
            s.served += 1
            t0 = time.monotonic()
            hdr = (b"POST /api/telemetry HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n")
            hdr += b"Transfer-Encoding: chunked\r\n" if chunked else b"Content-Length: %d\r\n" % big
            if expect_continue:
                hdr += b"Expect: 100-continue\r\n"
            hdr += b"\r\n"
            sent = 0
            answer = b""
            import select
            with socket.create_connection(("127.0.0.1", s.port), timeout=30) as sock:
                sock.sendall(hdr)
                sock.setblocking(False)
                chunk = b" " * 65536
                if chunked:
                    chunk = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
                deadline = t0 + 60
                sending = not expect_continue
                while time.monotonic() < deadline:
                    rd, wr, _ = select.select([sock], [sock] if sending and sent < big else [], [], 1)
                    if rd:
                        try:
                            d = sock.recv(65536)
                        except (ConnectionResetError, BlockingIOError):
                            d = b""
                        answer += d
                        if not d:
                            break
                        if b"\r\n\r\n" in answer and not answer.startswith(b"HTTP/1.1 100"):
                            # read the rest of a short body
                            sock.setblocking(True)
                            sock.settimeout(5)
                            try:
                                while True:
                                    d = sock.recv(65536)
                                    if not d:
                                        break
                                    answer += d
                            except (socket.timeout, ConnectionResetError):
                                pass
                            break
                        if answer.startswith(b"HTTP/1.1 100"):
                            answer = answer.partition(b"\r\n\r\n")[2]
                            sending = True
                    if wr:
                        try:
                            sent += sock.send(chunk)
                        except (BrokenPipeError, ConnectionResetError, BlockingIOError):
                            if not rd:
                                time.sleep(0.01)
                    if sent >= big and not rd and not answer:
                        sending = False
            secs = time.monotonic() - t0
            print(f"# 100 MiB {'chunked' if chunked else 'Content-Length'}"
                  f"{' + Expect' if expect_continue else ''}: answered after {sent} bytes sent, {secs:.2f} s",
                  flush=True)
            return hc.parse_http_response(answer), secs, secs >= 60
        return go

    run_case(ctx, "100 MiB body (Content-Length)", stream_big(), 413,
             extra=lambda r: (b"65536" in r.body, ("413 message names the limit", repr(r))))
    run_case(ctx, "100 MiB body with Expect: 100-continue", stream_big(expect_continue=True), 413)
    run_case(ctx, "100 MiB body (chunked)", stream_big(chunked=True), (411, 413))
    body = GOOD_TEXT.encode()
    run_case(ctx, "Content-Length 1 TiB, no body", raw_post(ctx, b"", content_length=1 << 40), 413)
    run_case(ctx, "Content-Length 20 digits", raw_post(ctx, body, content_length=10**20 - 1), (400, 413),
             json_body=False)
    for bad in (b"-1", b"abc", b"0x10", b"1e3", b"12 34"):
        run_case(ctx, f"Content-Length {bad.decode()!r}",
                 raw_post(ctx, body, extra_headers=b"Content-Length: " + bad + b"\r\n", content_length=False),
                 (400, 411, 413), json_body=False)
    run_case(ctx, "two different Content-Lengths",
             raw_post(ctx, body, extra_headers=b"Content-Length: 5\r\n"), 400, json_body=False)
    run_case(ctx, "Content-Length and chunked (smuggling shape)",
             lambda: s.raw(b"POST /api/telemetry HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                           + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"), (400, 411), json_body=False)
    run_case(ctx, "Transfer-Encoding: identity",
             raw_post(ctx, body, extra_headers=b"Transfer-Encoding: identity\r\n"), (400, 411, 501),
             json_body=False)
    run_case(ctx, "missing Content-Length (HTTP/1.0 body)", raw_post(ctx, body, content_length=False, http10=True),
             411)
    run_case(ctx, "missing Content-Length (HTTP/1.1 body)", raw_post(ctx, body, content_length=False),
             (400, 411), json_body=False)
    run_case(ctx, "Content-Length 0", raw_post(ctx, b"", content_length=0), 400)
    run_case(ctx, "lying Content-Length: shorter than the body", raw_post(ctx, body, content_length=10), 400)
    run_case(ctx, "lying Content-Length: shorter, valid prefix", raw_post(ctx, body, content_length=len(body) - 1),
             400)
    # Longer than the body: the client closes its write side; the server
    # must answer 400 (Apache itself, when the body ends early), quickly.
    for extra in (1, 100, 60000):
        run_case(ctx, f"lying Content-Length: {extra} bytes longer",
                 raw_post(ctx, body, content_length=len(body) + extra, timeout=30), 400, json_body=False)


def section_query(ctx):
    s = ctx.s
    long_q = "x=" + "a" * (64 * 1024)
    for path in ("/api/telemetry/recent?" + long_q, "/api/telemetry/customer/127.0.0.1?" + long_q,
                 "/api/telemetry?" + long_q, "/api/telemetry/recent?limit=" + "9" * 65536):
        def send(path=path):
            return s.request("POST" if path.startswith("/api/telemetry?") else "GET", path,
                             body=GOOD_TEXT.encode() if path.startswith("/api/telemetry?") else None,
                             headers=dict(J, **ctx.auth))
        run_case(ctx, f"64 KiB query string on {path[:24]}", send, 414)
    cases = [
        ("limit of 8000 digits", "/api/telemetry/recent?limit=" + "9" * 8000, 400),
        ("limit with %00", "/api/telemetry/recent?limit=1%00", 400),
        ("limit %zz", "/api/telemetry/recent?limit=%zz", 400),
        ("limit trailing %", "/api/telemetry/recent?limit=1%", 400),
        ("limit half escape", "/api/telemetry/recent?limit=1%2", 400),
        ("limit SQL", "/api/telemetry/recent?limit=1;DROP%20TABLE%20test_results", 400),
        ("limit SQL union", "/api/telemetry/recent?limit=1%20UNION%20SELECT%201", 400),
        ("customer limit negative", "/api/telemetry/customer/127.0.0.1?limit=-1", 400),
        ("customer limit huge", "/api/telemetry/customer/127.0.0.1?limit=99999999999999999999", 400),
    ]
    for name, path, st in cases:
        run_case(ctx, f"query: {name}", lambda path=path: s.get(path, ctx.auth), st)
    run_case(ctx, "query: 5,000 ampersands", lambda: s.get("/api/telemetry/recent?" + "&" * 5000, ctx.auth),
             (200, 400))
    run_case(ctx, "query: raw byte 0xff",
             lambda: s.raw(b"GET /api/telemetry/recent?limit=\xff HTTP/1.1\r\nHost: x\r\nX-API-Key: "
                           + KEY.encode() + b"\r\nConnection: close\r\n\r\n"), 400, json_body=False)


def section_headers(ctx):
    s = ctx.s
    body = GOOD_TEXT.encode()
    big = b"a" * (64 * 1024)
    run_case(ctx, "64 KiB header", raw_post(ctx, body, extra_headers=b"X-Long: " + big + b"\r\n"), (400, 431),
             json_body=False)
    run_case(ctx, "64 KiB User-Agent", raw_post(ctx, body, extra_headers=b"User-Agent: " + big + b"\r\n"),
             (400, 431), json_body=False)
    run_case(ctx, "200 headers",
             raw_post(ctx, body, extra_headers=b"".join(b"X-H%d: v\r\n" % i for i in range(200))),
             (400, 431), json_body=False)
    run_case(ctx, "header without a colon", raw_post(ctx, body, extra_headers=b"NoColonHere\r\n"), 400,
             json_body=False)
    run_case(ctx, "NUL in a header", raw_post(ctx, body, extra_headers=b"User-Agent: a\x00b\r\n"), 400,
             json_body=False)
    run_case(ctx, "control byte in a header", raw_post(ctx, body, extra_headers=b"User-Agent: a\x01b\r\n"), 400,
             json_body=False)
    run_case(ctx, "bare CR in User-Agent",
             raw_post(ctx, body, extra_headers=b"User-Agent: a\rX-Injected: 1\r\n"), 400, json_body=False)
    run_case(ctx, "8,000-byte Bearer token",
             lambda: s.get("/api/telemetry/stats", {"Authorization": "Bearer " + "k" * 8000}), 401)
    run_case(ctx, "8,000-byte X-API-Key", lambda: s.get("/api/telemetry/stats", {"X-API-Key": "k" * 8000}), 401)
    run_case(ctx, "Content-Type of 8,000 bytes (not JSON)",
             post(ctx, body, {"Content-Type": "text/" + "x" * 8000}), 415)


def stored_row(ctx, test_id):
    r = ctx.s.get(f"/api/telemetry/test/{test_id}", ctx.auth)
    return r.json if r.status == 200 and isinstance(r.json, dict) else None


def row_of(doc):
    """/api/telemetry/test/<id> answers the row itself or {"test": row}."""
    if doc is None:
        return {}
    return doc.get("test") if isinstance(doc.get("test"), dict) else doc


def section_stored_verbatim(ctx):
    """Valid requests with nasty text: stored exactly (SQL metacharacters)
    or cleaned as documented (control characters, invalid UTF-8, length)."""
    s = ctx.s
    sql_texts = ["Robert'); DROP TABLE test_results;--", "\" OR 1=1 --", "' OR '1'='1",
                 "1; DELETE FROM test_results WHERE 1=1; --", "%_\\' \\\" `ls` $(id)",
                 "'); ATTACH DATABASE '/tmp/pwn.db' AS p; --", "\u00e9\u00e8 \u2603 \U0001F600 x"]
    for text in sql_texts:
        doc = with_field(GOOD, ["server_name"], text[:128])
        holder = {}

        def send(doc=doc, text=text):
            r = s.submit(doc, {"User-Agent": text})
            holder["r"] = r
            return r

        def verify(r, text=text):
            tid = r.json.get("test_id") if isinstance(r.json, dict) else None
            row = row_of(stored_row(ctx, tid)) if tid else {}
            return (row.get("user_agent") == text and row.get("test_server_name") == text[:128],
                    ("stored verbatim, read back through the API", repr(row)[:400]))
        run_case(ctx, f"SQL metacharacters stored verbatim: {text[:30]!r}", send, 200, stores=1, extra=verify)
    run_case(ctx, "SQL in PATH_INFO", lambda: s.get("/api/telemetry/customer/1'%20OR%20'1'='1", ctx.auth), 400)
    run_case(ctx, "SQL in test id", lambda: s.get("/api/telemetry/test/x'%20OR%201=1--", ctx.auth), (400, 404))
    # Obsolete line folding puts CR/LF inside a header value on the wire:
    # Apache joins it; nothing reaches a response header, the stored text
    # has no control characters.
    body = GOOD_TEXT.encode()

    def verify_clean(r, want=None):
        tid = r.json.get("test_id") if isinstance(r.json, dict) else None
        ua = row_of(stored_row(ctx, tid)).get("user_agent") if tid else None
        ok = isinstance(ua, str) and not any(ord(c) < 0x20 or ord(c) == 0x7f for c in ua)
        if want is not None:
            ok = ok and ua == want
        return ok, ("stored User-Agent clean", repr(ua))
    run_case(ctx, "folded User-Agent with CR/LF on the wire",
             raw_post(ctx, body, extra_headers=b"User-Agent: foo\r\n X-Injected: 1\r\n"), (200, 400),
             stores=lambda r: 1 if r is not None and r.status == 200 else 0,
             extra=lambda r: verify_clean(r) if r.status == 200 else (True, ("refused", "")))
    run_case(ctx, "percent-encoded CR/LF in User-Agent stored literally",
             lambda: s.submit(GOOD, {"User-Agent": "a%0d%0aX-Injected:%201"}), 200, stores=1,
             extra=lambda r: verify_clean(r, "a%0d%0aX-Injected:%201"))
    run_case(ctx, "invalid UTF-8 and tab in User-Agent cleaned",
             raw_post(ctx, body, extra_headers=b"User-Agent: a\xffb\xc0\xafc\tz\r\n"), 200, stores=1,
             extra=lambda r: verify_clean(r, "a?b??c?z"))
    run_case(ctx, "8,000-byte User-Agent cut to 512 bytes",
             lambda: s.submit(GOOD, {"User-Agent": "u" * 8000}), 200, stores=1,
             extra=lambda r: verify_clean(r, "u" * 512))
    run_case(ctx, "CR/LF in PATH_INFO never reaches a header",
             lambda: s.get("/api/telemetry/customer/%0d%0aSet-Cookie:%20x=1", ctx.auth), (400, 404),
             json_body=False)


def section_paths(ctx):
    s = ctx.s
    paths = ["/api/telemetry/customer/../../etc/passwd",
             "/api/telemetry/customer/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
             "/api/telemetry/customer/..%2F..%2F..%2Fetc%2Fpasswd",
             "/api/telemetry/customer/..%2f..%2f..%2f..%2fetc%2fpasswd",
             "/api/telemetry/customer/127.0.0.1%2F..%2F..%2Fstats",
             "/api/telemetry/customer/%252e%252e%252fetc%252fpasswd",
             "/api/telemetry/customer/..\\..\\etc\\passwd",
             "/api/telemetry/customer//etc/passwd",
             "/api/telemetry/customer/127.0.0.1%00",
             "/api/telemetry/customer/127.0.0.1/../../../../etc/passwd",
             "/api/telemetry/test/../../../../etc/passwd",
             "/api/telemetry/test/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
             "/api/telemetry/test/....//....//etc/passwd",
             "/bufferbloat/../../../../../etc/passwd",
             "/bufferbloat/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
             "/lqos-errors/../../../../etc/passwd",
             "/lqos-errors/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
             "/api/load/download/../../../../etc/passwd",
             "/cgi-bin/../../../../etc/passwd"]
    for p in paths:
        def send(p=p):
            return s.raw(b"GET " + p.encode() + b" HTTP/1.1\r\nHost: x\r\nX-API-Key: " + KEY.encode()
                         + b"\r\nConnection: close\r\n\r\n")
        run_case(ctx, f"path traversal {p}", send, (400, 403, 404), json_body=False)


def section_spoofing(ctx, base):
    s = ctx.s
    db = os.path.join(s.state, "hostile-proxy.db")
    # Behind a trusted local proxy, with no key: only loopback clients may
    # read, and the client is the right-most untrusted X-Forwarded-For hop.
    s.set_conf(db, trusted_proxies="127.0.0.1", max_tests_per_ip_per_hour="0")
    ctx.auth = {}
    ctx.resync()
    for xff in ("203.0.113.9", "127.0.0.1, 203.0.113.9", "::1, 203.0.113.9", "localhost, 203.0.113.9",
                "garbage, 203.0.113.9", "127.0.0.1 , 203.0.113.9 ", "203.0.113.9, 10.0.0.1",
                "::ffff:203.0.113.9"):
        run_case(ctx, f"X-Forwarded-For {xff!r} through the proxy: support API refused",
                 lambda xff=xff: s.get("/api/telemetry/stats", {"X-Forwarded-For": xff}), 401)
    for xff, want in (("203.0.113.9", "203.0.113.9"), ("127.0.0.1, 203.0.113.9", "203.0.113.9"),
                      ("::ffff:198.51.100.4", "198.51.100.4"),
                      ("1.1.1.1, " * 700 + "203.0.113.10", "203.0.113.10")):
        run_case(ctx, f"X-Forwarded-For {xff[:30]!r}: stored under the right-most untrusted hop",
                 lambda xff=xff: s.submit(GOOD, {"X-Forwarded-For": xff}), 200, stores=1,
                 extra=lambda r, want=want: (r.json.get("client_ip") == want, ("client_ip", repr(r))))
    # Not a trusted proxy: the header is ignored, as are its cousins.
    db2 = os.path.join(s.state, "hostile-noproxy.db")
    s.set_conf(db2, telemetry_api_key=KEY, max_tests_per_ip_per_hour="0")
    ctx.auth = {"X-API-Key": KEY}
    ctx.resync()
    spoof = {"X-Forwarded-For": "203.0.113.9", "Forwarded": "for=203.0.113.9", "X-Real-IP": "203.0.113.9",
             "Client-IP": "203.0.113.9", "True-Client-IP": "203.0.113.9", "Remote-Addr": "203.0.113.9",
             "X-Originating-IP": "203.0.113.9"}
    run_case(ctx, "client address headers ignored without trusted_proxies", lambda: s.submit(GOOD, spoof), 200,
             stores=1, extra=lambda r: (r.json.get("client_ip") == "127.0.0.1", ("client_ip", repr(r))))
    run_case(ctx, "X-Forwarded-For: 127.0.0.1 does not replace the key",
             lambda: s.get("/api/telemetry/stats", {"X-Forwarded-For": "127.0.0.1"}), 401)
    # httpoxy: a "Proxy" request header must not become HTTP_PROXY for the
    # flusher that prompt delivery starts from the CGI's environment.
    section_httpoxy(ctx, base)


def section_httpoxy(ctx, base):
    s = ctx.s
    got = []
    evil_hits = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            got.append((self.path, self.rfile.read(n)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST

    class Evil(Hook):
        def do_POST(self):
            evil_hits.append(self.path)
            Hook.do_POST(self)
        do_GET = do_POST
        do_CONNECT = do_POST

    hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    evil = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Evil)
    threads = [threading.Thread(target=x.serve_forever, daemon=True) for x in (hook, evil)]
    for t in threads:
        t.start()
    try:
        db = os.path.join(s.state, "hostile-httpoxy.db")
        s.set_conf(db, telemetry_api_key=KEY, max_tests_per_ip_per_hour="0",
                   webhook_url=f"http://127.0.0.1:{hook.server_address[1]}/hook")
        ctx.resync()
        evil_url = f"http://127.0.0.1:{evil.server_address[1]}/"
        r = run_case(ctx, "httpoxy: Proxy header on a submission",
                     lambda: s.submit(GOOD, {"Proxy": evil_url, "Http-Proxy": evil_url}), 200, stores=1)
        tid = r.json.get("test_id") if r is not None and isinstance(r.json, dict) else None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not got and not evil_hits:
            time.sleep(0.1)
        time.sleep(0.3)
        check("httpoxy: the webhook went to webhook_url", any(tid and tid.encode() in b for _, b in got),
              f"received {len(got)}; evil {len(evil_hits)}")
        check("httpoxy: nothing went through the client's proxy", not evil_hits, evil_hits)
    finally:
        for x in (hook, evil):
            x.shutdown()
            x.server_close()


def section_keys(ctx):
    s = ctx.s
    db = os.path.join(s.state, "hostile-keys.db")
    s.set_conf(db, telemetry_api_key=KEY, max_tests_per_ip_per_hour="0")
    ctx.auth = {"X-API-Key": KEY}
    ctx.resync()
    last = KEY[-1]
    near = [KEY[:-1] + chr(ord(last) + 1), KEY[:-1] + chr(ord(last) - 1), KEY[:-1] + last.lower(),
            KEY[:-1], KEY + "x", KEY + " x", "x" + KEY, KEY.upper(), KEY[:-1] + "%52"]
    for k in near:
        run_case(ctx, f"Bearer one byte off ({k[-3:]!r})",
                 lambda k=k: s.get("/api/telemetry/stats", {"Authorization": "Bearer " + k}), 401)
        run_case(ctx, f"X-API-Key one byte off ({k[-3:]!r})",
                 lambda k=k: s.get("/api/telemetry/recent", {"X-API-Key": k}), 401)
        run_case(ctx, f"?api_key= one byte off ({k[-3:]!r})",
                 lambda k=k: s.get("/api/telemetry/customer/127.0.0.1?api_key=" + k.replace(" ", "%20")), 401)
    for name, path in (("NUL after the key", f"?api_key={KEY}%00x"), ("key then NUL", f"?api_key={KEY}%00"),
                       ("key split by NUL", f"?api_key={KEY[:10]}%00{KEY[10:]}")):
        run_case(ctx, f"?api_key= {name}", lambda path=path: s.get("/api/telemetry/stats" + path), (400, 401))
    run_case(ctx, "Basic auth with the key as password",
             lambda: s.get("/api/telemetry/stats", {"Authorization": "Basic " + __import__("base64")
                                                    .b64encode(b"x:" + KEY.encode()).decode()}), 401)
    run_case(ctx, "Bearer with the key twice",
             lambda: s.get("/api/telemetry/stats", {"Authorization": f"Bearer {KEY} {KEY}"}), 401)
    # TRACE would echo the Authorization header back (cross-site tracing).
    r = run_case(ctx, "TRACE with a Bearer key",
                 lambda: s.raw(b"TRACE /api/telemetry/stats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                               + KEY.encode() + b"\r\nConnection: close\r\n\r\n"), (403, 405, 501),
                 json_body=False)
    check("TRACE never echoes the key", r is not None and KEY.encode() not in r.body, repr(r))
    for m in ("OPTIONS", "PATCH", "FOO"):
        run_case(ctx, f"method {m} on the support API",
                 lambda m=m: s.request(m, "/api/telemetry/stats", headers=ctx.auth), (400, 405, 501),
                 json_body=False, extra=lambda r: (KEY.encode() not in r.body, ("key not echoed", repr(r))))


def main():
    missing = hc.apache_missing()
    if missing:
        return hc.skip(f"missing {missing}")
    if not os.path.isfile(os.path.join(hc.BUILDDIR, "cgi-bin", "lqos-submit")):
        check(f"{hc.BUILDDIR}/cgi-bin/lqos-submit built", False)
        return 1
    why = backend.start()
    if why:
        return hc.skip(f"{backend.NAME} back end: {why}")
    t_start = time.monotonic()
    base = tempfile.mkdtemp(prefix="lqos-hostile-", dir="/tmp")
    os.chmod(base, 0o755)
    server = hc.PrivateApache(base)
    ctx = Ctx(server)
    db = os.path.join(server.state, "hostile.db")
    try:
        server.start(f'database_path="{db}"\ntelemetry_api_key="{KEY}"\nmax_tests_per_ip_per_hour="0"\n')
        r = server.submit(GOOD)
        check("a normal submission is stored first", r.status == 200 and r.json and r.json.get("stored"), repr(r))
        ctx.resync()
        check("stats answers with the key", ctx.expected_total == 1, ctx.expected_total)
        sections = [section_malformed, section_nesting, section_duplicates, section_wrong_types,
                    section_non_finite, section_absurd, section_strings, section_framing, section_query,
                    section_headers, section_stored_verbatim, section_paths,
                    lambda c: section_spoofing(c, base), section_keys]
        for sec in sections:
            t0 = time.monotonic()
            before = inputs_tried
            sec(ctx)
            # The server still stores a normal result after each section.
            r = server.submit(GOOD)
            ok = check(f"{getattr(sec, '__name__', 'section')}: a normal submission still stored",
                       r.status == 200 and isinstance(r.json, dict) and r.json.get("stored") is True, repr(r))
            ctx.expected_total = (ctx.expected_total or 0) + (1 if ok else 0)
            total, _ = ctx.total()
            check("normal submission counted", total == ctx.expected_total, (total, ctx.expected_total))
            ctx.expected_total = total
            print(f"# {getattr(sec, '__name__', 'section')}: {inputs_tried - before} inputs, "
                  f"{time.monotonic() - t0:.1f} s", flush=True)
        crashes = server.crashes()
        check("no crash in Apache's error log", not crashes, crashes[:5])
        metric("inputs_tried", inputs_tried)
        metric("requests_served", server.served)
        metric("crashes", len(crashes))
        print(f"# {inputs_tried} hostile inputs, {server.served} requests on {backend.NAME}, "
              f"{time.monotonic() - t_start:.1f} s", flush=True)
    finally:
        server.stop()
        backend.stop()
    hc.remove_unless_failed(base)
    return 0


if __name__ == "__main__":
    hc.main_wrapper(main)
