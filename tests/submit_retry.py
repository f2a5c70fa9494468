"""A finished test is stored once however often the page sends it
(issue 10), through a real private Apache (mod_cgid) and real SQLite.

Checks: a repeat of an Idempotency-Key gets the first answer (200, same
test_id, timestamp and grades, Idempotent-Replayed) without a second row
or webhook event and without counting against the per-address limit; a
submission whose answer was lost (the client sent it on a raw socket and
closed before reading) then retried ends with one row and the stored
test_id; a 503 (the SQLite file read-only, or PostgreSQL stopped) then success ends with one row;
a key reused for another body is refused (422); one client's key never
reads another client's answer; malformed keys are 400 and store nothing;
submissions without a key behave as before.

Environment: LQOS_SRCDIR, LQOS_BUILDDIR (set by make check). Prints
"RESULT: N passed, M failed" last; 77 when Apache is missing.
"""
import json
import os
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lqostest as lq  # noqa: E402
import backend  # noqa: E402
from lqostest import check  # noqa: E402


def count(db, sql, *args):
    """One value from the store (SQLite or PostgreSQL, tests/backend.py)."""
    return backend.one(db, sql, args)


def rows(db):
    return count(db, "SELECT count(*) FROM test_results")


def events(db):
    return count(db, "SELECT count(*) FROM webhook_outbox")


def submit(s, key, ip="203.0.113.10", body=None):
    headers = {"X-Forwarded-For": ip}
    if key is not None:
        headers["Idempotency-Key"] = key
    return s.submit(body if body is not None else lq.native_single(), headers=headers)


def repeats(s, db):
    key = uuid.uuid4().hex
    first = submit(s, key)
    check("first submission stored", first.status == 200 and first.json.get("stored") is True, first)
    n, e = rows(db), events(db)
    again = submit(s, key)
    check("repeat: 200 with the first test_id, timestamp and grades",
          again.status == 200 and again.json.get("test_id") == first.json["test_id"]
          and again.json.get("timestamp") == first.json["timestamp"]
          and again.json.get("grades") == first.json["grades"], again)
    check("repeat: marked Idempotent-Replayed", again.header("Idempotent-Replayed") == "true",
          again.headers)
    check("repeat: no second row, no second webhook event", rows(db) == n and events(db) == e,
          f"{rows(db)} {events(db)} vs {n} {e}")
    # Another client with the same key: its own row, never the first answer.
    other = submit(s, key, ip="198.51.100.20")
    check("the same key from another address is that address's own submission",
          other.status == 200 and other.json["test_id"] != first.json["test_id"]
          and other.json["client_ip"] == "198.51.100.20" and rows(db) == n + 1, other)
    # The same key for a different result: refused, nothing stored.
    changed = submit(s, key, body=lq.native_single(dl_inc=200.0))
    check("a key reused for another result: 422, nothing stored",
          lq.is_json_error(changed, 422) and rows(db) == n + 1, changed)
    # Without a key: as before, each one stored.
    a, b = submit(s, None), submit(s, None)
    check("without a key every submission is stored", a.status == b.status == 200
          and a.json["test_id"] != b.json["test_id"] and rows(db) == n + 3, (a, b))


def bad_keys(s, db):
    n = rows(db)
    for key in ("short", "x" * 129, "has space in the key 123", "semi;colon-0123456789",
                "ключ-0123456789abcdef", "0123456789abcdef/", ""):
        r = submit(s, key)
        check(f"malformed key {key[:20]!r}: 400 JSON error", lq.is_json_error(r, 400)
              and "Idempotency-Key" in r.json["error"], r)
    check("malformed keys stored nothing", rows(db) == n)
    r = submit(s, "A" * 128)
    check("a 128-character key is accepted", r.status == 200, r)
    r = submit(s, "0123456789abcdef")
    check("a 16-character key is accepted", r.status == 200, r)


def rate_limit(s, db, conf_base):
    s.write_conf(conf_base + 'max_tests_per_ip_per_hour="2"\n')
    ip = "192.0.2.77"
    k1, k2, k3 = (uuid.uuid4().hex for _ in range(3))
    r1, r2 = submit(s, k1, ip), submit(s, k2, ip)
    check("limit: two stored", r1.status == r2.status == 200, (r1, r2))
    again = submit(s, k1, ip)
    check("limit: a repeat is answered 200 with its test_id, not 429",
          again.status == 200 and again.json["test_id"] == r1.json["test_id"], again)
    third = submit(s, k3, ip)
    check("limit: a new key is the third submission: 429", third.status == 429, third)
    s.write_conf(conf_base)


def lost_answer(s, db):
    """The client sends the whole request and goes away before the answer."""
    key = uuid.uuid4().hex
    body = json.dumps(lq.native_single()).encode()
    n = rows(db)
    req = (b"POST /api/telemetry HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           b"Content-Type: application/json\r\nX-Forwarded-For: 203.0.113.30\r\n"
           b"Idempotency-Key: " + key.encode() + b"\r\nConnection: close\r\n"
           b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    import socket
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as sock:
        sock.sendall(req)
        # Close without reading: the answer is lost (RST on unread data).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    stored = None
    for _ in range(100):  # the CGI stores it after the client left (10 s at most)
        stored = count(db, "SELECT test_id FROM submission_keys WHERE idem_key = ?", key) \
            if count(db, "SELECT count(*) FROM submission_keys WHERE idem_key = ?", key) else None
        if stored:
            break
        time.sleep(0.1)
    check("lost answer: the server stored the result anyway", stored is not None and rows(db) == n + 1,
          f"{stored} {rows(db)} vs {n}")
    retry = submit(s, key, ip="203.0.113.30")
    check("lost answer, retried: 200 with the stored test_id",
          retry.status == 200 and retry.json.get("test_id") == stored, retry)
    check("lost answer, retried: one row in all", rows(db) == n + 1
          and count(db, "SELECT count(*) FROM test_results WHERE client_ip = '203.0.113.30'") == 1)


def unavailable_then_ok(s, db):
    key = uuid.uuid4().hex
    n, e = rows(db), events(db)
    # SQLite: the file read-only; PostgreSQL: the server stopped.
    with backend.unavailable(db):
        r = submit(s, key, ip="203.0.113.40")
    check("database unavailable: 503 with Retry-After and the grades",
          r.status == 503 and r.header("Retry-After") and r.json.get("grades"), r)
    check("503: nothing stored", rows(db) == n and events(db) == e)
    ok = submit(s, key, ip="203.0.113.40")
    check("retry after the 503: 200 stored", ok.status == 200 and ok.json.get("stored") is True, ok)
    again = submit(s, key, ip="203.0.113.40")
    check("503 then success (then a repeat): one row, one event",
          rows(db) == n + 1 and events(db) == e + 1 and again.json.get("test_id") == ok.json["test_id"],
          f"{rows(db)} {events(db)} vs {n} {e}")


def main():
    missing = lq.apache_missing()
    if missing:
        return lq.skip(f"{missing} not available")
    why = backend.start()
    if why:
        return lq.skip(f"{backend.NAME} back end: {why}")
    base = tempfile.mkdtemp(prefix="lqos-retry-")
    os.chmod(base, 0o755)
    s = lq.PrivateApache(base)
    db = os.path.join(s.state, "isp_telemetry.db")
    conf = (f'database_path="{db}"\ntrusted_proxies="127.0.0.1/32"\n'
            f'webhook_url="http://127.0.0.1:{lq.free_port()}/hook"\nwebhook_prompt_delivery="false"\n')
    s.start(conf + 'max_tests_per_ip_per_hour="0"\n')
    conf_base = conf + 'max_tests_per_ip_per_hour="0"\n'
    try:
        for fn in (repeats, bad_keys, lost_answer, unavailable_then_ok):
            lq.run_timed(fn, s, db)
        lq.run_timed(rate_limit, s, db, conf_base)
        check("no crash in the Apache log", s.crashes() == [], s.crashes())
        check("integrity", backend.integrity(db) == "ok")
    finally:
        s.stop()
        backend.stop()
        lq.remove_unless_failed(base)
    return 0


if __name__ == "__main__":
    lq.main_wrapper(main)
