#!/usr/bin/env python3
"""Prompt webhook delivery under a burst of customers (issue 11).

A private Apache (scripts/private-apache, mod_cgid) with webhook_url set
to a real HTTP receiver on loopback (http.server in threads) and prompt
delivery on. 64 client threads submit results for 10 seconds (5 in the
quick profile) while a sampler scans /proc every 10 ms for processes
whose executable is this test's lqos-webhook-flush (RUNDIR/sbin).

Asserts: every submission answered 200; at most 3 delivery processes
alive at any sampled moment; every stored result reaches the receiver
exactly once (no loss, no duplicate, nothing unknown), without running
the flusher by hand (no cron here); at most 5 distinct delivery processes
serve the whole stream (each waits a second for more events before it
exits); the outbox ends all delivered; the
median time from the submission's answer to the receiver getting the
event is at most 2 s; no flusher is left running afterwards.

Environment: LQOS_SRCDIR, LQOS_BUILDDIR (set by make check). Exits 77
(SKIP) without Apache. Prints "RESULT: N passed, M failed" last.
"""
import http.client
import http.server
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lqostest as lq  # noqa: E402
from lqostest import QUICK, check  # noqa: E402

CLIENTS = 64
SECONDS = 5 if QUICK else 10
MAX_FLUSHERS = 3
MEDIAN_LIMIT = 2.0
MAX_STARTED = 5     # distinct delivery processes over the whole 10 s stream


class Receiver:
    """Records (webhook-id, arrival time) of every POST; answers 204."""

    def __init__(self):
        self.lock = threading.Lock()
        self.got = []
        recv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                with recv.lock:
                    recv.got.append((self.headers.get("webhook-id"), time.monotonic(), body))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def snapshot(self):
        with self.lock:
            return list(self.got)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def flusher_pids(exe):
    """Pids of live processes running `exe` (readlink /proc/PID/exe)."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{name}/exe") == exe:
                pids.append(int(name))
        except OSError:
            pass
    return pids


class Sampler(threading.Thread):
    def __init__(self, exe):
        super().__init__(daemon=True)
        self.exe = exe
        self.stop = threading.Event()
        self.max = 0
        self.samples = 0
        self.nonzero = 0
        self.seen = set()

    def run(self):
        while not self.stop.is_set():
            pids = flusher_pids(self.exe)
            n = len(pids)
            self.seen.update(pids)
            self.samples += 1
            self.nonzero += n > 0
            self.max = max(self.max, n)
            self.stop.wait(0.01)


def submitter(port, body, deadline, out, errors):
    """Submit until `deadline`, one connection per request (Apache's
    event MPM closes idle keep-alive connections under load, and a POST
    sent into that close could not be told stored or not); record
    (test_id, time the answer arrived)."""
    hdrs = {"Content-Type": "application/json", "User-Agent": "webhook-burst/1"}
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.request("POST", "/api/telemetry", body=body, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
            answered = time.monotonic()
            if resp.status != 200:
                errors.append(f"{resp.status} {raw[:200]!r}")
                continue
            out.append((json.loads(raw)["test_id"], answered))
        except (OSError, http.client.HTTPException, ValueError) as e:
            errors.append(repr(e))
        finally:
            conn.close()


def main():
    missing = lq.apache_missing()
    if missing:
        return lq.skip(f"{missing} not available; prompt delivery under load not tested")
    started = time.monotonic()
    base = lq.tempfile.mkdtemp(prefix="lqos-burst.")
    os.chmod(base, 0o755)
    apache = lq.PrivateApache(base)
    rcv = Receiver()
    exe = os.path.join(apache.rundir, "sbin", "lqos-webhook-flush")
    db = os.path.join(apache.state, "isp_telemetry.db")
    try:
        apache.write_conf(f'database_path="{db}"\n'
                          f'webhook_url="http://127.0.0.1:{rcv.port}/hook"\n'
                          'webhook_secret="burst-test-secret"\n'
                          'webhook_prompt_delivery="true"\n'
                          'max_tests_per_ip_per_hour="0"\n'
                          'max_stored_tests="1000000"\n')
        try:
            apache.start()
        except RuntimeError as e:
            check("private Apache started", False, str(e)[-800:])
            return lq.finish(started)
        with open(os.path.join(lq.SRCDIR, "tests", "fixtures", "native_single.json"), "rb") as f:
            body = f.read()
        # Warm up: the database and its schema exist before the burst.
        warm = apache.submit(body, {"Content-Type": "application/json"})
        check("warm-up submission stored", warm.status == 200, warm)
        warm_id = (warm.json or {}).get("test_id")

        sampler = Sampler(exe)
        sampler.start()
        results, errors = [], []
        deadline = time.monotonic() + SECONDS
        threads = [threading.Thread(target=submitter, args=(apache.port, body, deadline, results,
                                                             errors))
                   for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(SECONDS + 120)
        ids = {tid for tid, _ in results}
        # Delivery finishes on its own: no cron, no flusher run by hand.
        end = time.monotonic() + 60
        while time.monotonic() < end:
            if ids <= {wid for wid, _, _ in rcv.snapshot()}:
                break
            time.sleep(0.1)
        time.sleep(1.0)   # a duplicate would arrive now
        sampler.stop.set()
        sampler.join()

        got = rcv.snapshot()
        print(f"# {len(results)} submissions by {CLIENTS} clients in {SECONDS} s "
              f"({len(results) / SECONDS:.0f}/s), {len(got)} deliveries, "
              f"max {sampler.max} delivery processes in {sampler.samples} samples "
              f"({sampler.nonzero} with one running), {len(sampler.seen)} distinct",
              flush=True)
        check("every submission answered 200", not errors and results,
              f"{len(errors)} errors, first: {errors[:3]}")
        check(f"at most {MAX_FLUSHERS} delivery processes alive at once",
              sampler.max <= MAX_FLUSHERS, f"max {sampler.max}")
        check("the sampler saw delivery running (the sample is meaningful)",
              sampler.nonzero > 0, f"{sampler.samples} samples")
        # A delivery process waits a second for the next events before it
        # exits: a steady stream is served by a few processes, not one
        # started (libcurl, OpenSSL) every few submissions.
        check(f"a steady stream is served by at most {MAX_STARTED} delivery processes",
              len(sampler.seen) <= MAX_STARTED, f"{len(sampler.seen)} seen")
        counts = {}
        for wid, _, _ in got:
            counts[wid] = counts.get(wid, 0) + 1
        missing_ids = ids - set(counts)
        dupes = {w: c for w, c in counts.items() if c > 1}
        check("every stored result delivered", not missing_ids,
              f"{len(missing_ids)} of {len(ids)} missing")
        check("each delivered exactly once", not dupes, f"{len(dupes)} duplicated: "
              f"{list(dupes.items())[:5]}")
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        stored = con.execute("SELECT count(*) FROM test_results").fetchone()[0]
        states = dict(con.execute("SELECT state, count(*) FROM webhook_outbox GROUP BY state"))
        con.close()
        check("stored rows = 200 answers (+ warm-up)", stored == len(results) + 1,
              f"{stored} rows, {len(results)} answers")
        check("nothing unknown delivered", set(counts) <= ids | {warm_id} and None not in counts
              and len(counts) == stored, f"{len(counts)} distinct ids, {stored} rows")
        check("the outbox ends all delivered", states == {"delivered": stored}, states)
        arrival = {wid: t for wid, t, _ in sorted(got, key=lambda g: g[1], reverse=True)}
        lat = sorted(arrival[tid] - t for tid, t in results if tid in arrival)
        if lat:
            med = statistics.median(lat)
            p90 = lat[int(0.9 * (len(lat) - 1))]
            print(f"# submission answered -> receiver: median {med:.3f} s, p90 {p90:.3f} s, "
                  f"max {lat[-1]:.3f} s", flush=True)
            check(f"median submission-to-delivery <= {MEDIAN_LIMIT} s", med <= MEDIAN_LIMIT,
                  f"{med:.2f} s")
        end = time.monotonic() + 10
        while flusher_pids(exe) and time.monotonic() < end:
            time.sleep(0.1)
        check("no delivery process left running", not flusher_pids(exe), flusher_pids(exe))
        # --lock-fd is only for the lock the submission hands over: any
        # other descriptor is refused (exit 2) and delivers nothing.
        flush = os.path.join(lq.BUILDDIR, "sbin", "lqos-webhook-flush")
        other = os.open(os.path.join(base, "not-the-lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            for fd, what in ((other, "another file"), (other + 50, "a closed descriptor")):
                r = subprocess.run([flush, "--config", apache.conf, "--lock-fd", str(fd)],
                                   pass_fds=(other,), capture_output=True, text=True, timeout=60)
                check(f"--lock-fd refuses {what}", r.returncode == 2
                      and "is not the locked" in r.stderr, f"{r.returncode} {r.stderr[-300:]}")
        finally:
            os.close(other)
        crashes = apache.crashes()
        check("no crash in Apache's error log", not crashes, crashes[:5])
    finally:
        apache.stop()
        rcv.close()
        lq.remove_unless_failed(base)
    return lq.finish(started)


if __name__ == "__main__":
    sys.exit(main())
