"""Shared helpers of the Python tests (tests/*.py): SRCDIR/BUILDDIR
discovery, check counting, free ports, a private Apache from
scripts/private-apache, raw and http.client requests, the SPEC's error
shape, result payloads, and the METRIC lines bench/hardening-summary
collects.

A test imports it after putting its own directory first on sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import lqostest as lq
Python standard library only. The reporting protocol (counted by
scripts/summarize-tests.py): check() prints "PASS: name" or "FAIL: name:
detail", skip_check() prints "SKIP: name: reason" for a part that cannot
run here, and finish() prints "RESULT: P passed, F failed, S skipped"
last. A test that cannot run at all returns skip(reason) (exit 77)."""
import contextlib
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback

SRCDIR = os.path.abspath(os.environ.get("LQOS_SRCDIR",
                                        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")))
BUILDDIR = os.path.abspath(os.environ.get("LQOS_BUILDDIR", SRCDIR))
PRIVATE_APACHE = os.path.join(SRCDIR, "scripts", "private-apache")
QUICK = os.environ.get("LQOS_TEST_PROFILE") == "quick"
IS_ROOT = os.geteuid() == 0

# Lines in Apache's error log (or a CGI's stderr) that mean a program
# crashed or a sanitizer fired.
CRASH_RE = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:|"
                      r"Segmentation|SIGSEGV|core dumped|End of script output before headers|"
                      r"stack smashing|double free|malloc\(\)|free\(\): invalid")

passed = 0
failed = 0
skipped = 0


def check(name, cond, detail="", limit=1500):
    """Count one assertion: prints "PASS: name", or on failure "FAIL:
    name: detail" (the detail cut to `limit` characters, None for no cut)."""
    global passed, failed
    if cond:
        passed += 1
        print(f"PASS: {name}", flush=True)
    else:
        failed += 1
        text = str(detail) if limit is None else str(detail)[:limit]
        print(f"FAIL: {name}" + (f": {text}" if detail != "" else ""), flush=True)
    return bool(cond)


def metric(name, value):
    """A machine-readable figure for bench/hardening-summary."""
    print(f"METRIC {name}={value}", flush=True)


def skip_check(name, reason):
    """A check (or a whole scenario) that cannot run here: printed as
    "SKIP: name: reason" and counted as one skipped check, never passed."""
    global skipped
    skipped += 1
    print(f"SKIP: {name}: {reason}", flush=True)


def finish(started=None):
    """Print the RESULT line (after the total time since `started`, a
    time.monotonic() value, when given); the exit status: 1 after a
    failure, 77 when every check was skipped. A test that counted no
    check at all fails (it ran nothing)."""
    if started is not None:
        print(f"# total {time.monotonic() - started:.1f} s", flush=True)
    if passed == 0 and failed == 0 and skipped == 0:
        check("the test ran at least one check", False)
    print(f"RESULT: {passed} passed, {failed} failed, {skipped} skipped", flush=True)
    if failed:
        return 1
    return 77 if passed == 0 else 0


def remove_unless_failed(folder):
    """Remove a test's scratch folder; after a failure keep it and say so."""
    if failed == 0:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        print(f"# kept {folder} for inspection", flush=True)


def run_timed(fn, *args):
    """Run one scenario fn(*args) and print how long it took; an exception
    is one failure (with its traceback) and the next scenario still runs."""
    t0 = time.monotonic()
    try:
        fn(*args)
    except Exception as e:  # reported as one failure, never swallowed
        check(f"{fn.__name__} ran to the end", False, f"{e}\n{traceback.format_exc()}", limit=None)
    print(f"# {fn.__name__}: {time.monotonic() - t0:.2f} s", flush=True)


@contextlib.contextmanager
def scratch_dir(prefix, mode=None):
    """A temporary folder (chmod `mode` when given), removed afterwards."""
    path = tempfile.mkdtemp(prefix=prefix)
    try:
        if mode is not None:
            os.chmod(path, mode)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def skip(why):
    """The whole test cannot run here: one skip with its reason, nothing
    passed; returns 77 (automake's SKIP) for main() to return."""
    global skipped
    skipped += 1
    print(f"SKIP: {why}", flush=True)
    print(f"RESULT: {passed} passed, {failed} failed, {skipped} skipped", flush=True)
    return 77


def free_port():
    """A port on 127.0.0.1 the kernel just handed out (bind to port 0)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def apache_missing():
    """None when Apache with mod_cgid is usable, else what is missing."""
    have_bin = any(os.access(b, os.X_OK) for b in ("/usr/sbin/apache2", "/usr/sbin/httpd")) \
        or shutil.which("apache2") or shutil.which("httpd")
    if not have_bin:
        return "apache2"
    if not any(os.path.isfile(os.path.join(d, "mod_cgid.so"))
               for d in ("/usr/lib/apache2/modules", "/usr/lib64/httpd/modules", "/usr/libexec/apache2")):
        return "mod_cgid"
    if not shutil.which("curl"):
        return "curl"  # scripts/private-apache waits with curl
    return None


# ------------------------------------------------------------------ HTTP


class Response:
    def __init__(self, status, headers, body, raw_head=b""):
        self.status = status
        self.headers = headers      # lower-case name -> value (last one wins)
        self.body = body
        self.raw_head = raw_head    # the header block as received (raw requests)
        try:
            self.json = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            self.json = None

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


def request(port, method, path, body=None, headers=None, timeout=60):
    """One request on its own connection. `body` may be bytes, str, a dict
    or list (sent as JSON with Content-Type application/json) or an
    iterator of bytes (sent chunked, without Content-Length)."""
    # Header values go out as UTF-8 bytes (http.client would insist on latin-1).
    hdrs = {k: v.encode("utf-8") if isinstance(v, str) else v for k, v in (headers or {}).items()}
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        hdrs.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode("utf-8")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        if body is not None and not isinstance(body, (bytes, bytearray)):
            conn.request(method, path, body=body, headers=hdrs, encode_chunked=True)
        else:
            conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


def parse_http_response(raw):
    """Status, headers and body of one raw HTTP/1.x response (chunked
    bodies decoded). Status 0 when there is no status line."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/") or not sep:
        return Response(0, {}, raw, head)
    lines = head.split(b"\r\n")
    try:
        status = int(lines[0].split(b" ", 2)[1])
    except (IndexError, ValueError):
        return Response(0, {}, raw, head)
    headers = {}
    for ln in lines[1:]:
        k, _, v = ln.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        out, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            try:
                n = int(size_line.split(b";")[0], 16)
            except ValueError:
                break
            if n == 0:
                break
            out += rest[:n]
            rest = rest[n + 2:]
        body = out
    elif "content-length" in headers and headers["content-length"].isdigit():
        body = body[:int(headers["content-length"])]
    return Response(status, headers, body, head)


def raw_request(port, data, shut_write=True, timeout=20):
    """Send raw bytes, optionally close the write side, read until the
    server closes (bounded by `timeout`). Returns (Response, seconds,
    timed_out)."""
    t0 = time.monotonic()
    out = b""
    timed_out = False
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
            if shut_write:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may answer (and close) before it read everything
        deadline = t0 + timeout
        while True:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                timed_out = True
                break
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
    return parse_http_response(out), time.monotonic() - t0, timed_out


def is_json_error(r, status):
    """The SPEC's error shape: the status, a JSON content type, success
    false and a non-empty message."""
    statuses = status if isinstance(status, (tuple, list, set)) else (status,)
    ct = r.header("Content-Type") or ""
    return (r.status in statuses and ct.startswith("application/json")
            and isinstance(r.json, dict) and r.json.get("success") is False
            and isinstance(r.json.get("error"), str) and r.json["error"].strip() != "")


# ------------------------------------------------------------------ payloads


def native_single(dl_inc=3.0, ul_inc=20.0, bidi_inc=45.0, dl=100.0, ul=20.0, baseline=12.5,
                  server_name="hardening"):
    return {
        "test_type": "single_user",
        "test_duration_seconds": 40,
        "baseline_latency_ms": baseline,
        "server_name": server_name,
        "download": {"throughput_mbps": dl, "latency_p50_ms": baseline + dl_inc,
                     "latency_p90_ms": baseline + dl_inc + 5, "latency_increase_ms": dl_inc,
                     "jitter_ms": 2.0},
        "upload": {"throughput_mbps": ul, "latency_p50_ms": baseline + ul_inc,
                   "latency_p90_ms": baseline + ul_inc + 5, "latency_increase_ms": ul_inc,
                   "jitter_ms": 3.0},
        "bidirectional": {"throughput_mbps": dl, "latency_increase_ms": bidi_inc},
    }


def native_household():
    return {
        "test_type": "virtual_household",
        "test_duration_seconds": 30,
        "baseline_latency_ms": 11.0,
        "download_mbps": 95.5,
        "upload_mbps": 19.5,
        "alex": {"latency_increase_ms": 10, "jitter_ms": 3, "loss_pct": 0},
        "sarah": {"latency_increase_ms": 20, "jitter_ms": 8, "delivered_pct": 99},
        "jake": {"fetch_ratio_p90": 0.6, "stalls": 0},
        "computer": {"spare_capacity_share_pct": 80, "throughput_mbps": 60},
    }


def original_single(upload_grade="F", server_url=None):
    """What the original LibreQoS client sends (SPEC section 7)."""
    server_info = {"server_id": "s-1"}
    if server_url is not None:
        server_info["server_url"] = server_url
    server_info["server_name"] = "original-server"
    return {
        "telemetry_enabled": True,
        "timestamp": "2025-06-12T12:42:18.123Z",
        "results": {
            "test_type": "single",
            "grades": {"overall": {"grade": "D", "cssClass": "d"}, "download": "C",
                       "upload": upload_grade, "bidirectional": "D"},
            "metrics": {
                "baseline_latency_ms": 12.3,
                "download_latency_increase_ms": 150.0,
                "upload_latency_increase_ms": 450.0,
                "bidirectional_latency_increase_ms": 300.0,
                "download_throughput_mbps": 115.6,
                "upload_throughput_mbps": 23.4,
                "test_duration_seconds": 40,
            },
        },
        "server_info": server_info,
    }


# ------------------------------------------------------------------ the server


def start_private_apache(rundir, port, builddir=None, timeout=60):
    """`scripts/private-apache start RUNDIR PORT BUILDDIR SRCDIR`; its pid.
    RuntimeError (with what the script said) when it did not start."""
    out = subprocess.run(["sh", PRIVATE_APACHE, "start", rundir, str(port), builddir or BUILDDIR, SRCDIR],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, text=True)
    if out.returncode != 0:
        raise RuntimeError("private-apache start failed: " + out.stdout + out.stderr)
    return int(out.stdout.strip().splitlines()[-1])


def stop_private_apache(rundir, check=False, quiet=False, timeout=60):
    """`scripts/private-apache stop RUNDIR`: stops that Apache by its pid
    (RUNDIR/apache.pid)."""
    return subprocess.run(["sh", PRIVATE_APACHE, "stop", rundir], check=check,
                          capture_output=quiet, timeout=timeout)


# ------------------------------------------------------------------ the store


def with_test_database(text):
    """`text` (a config) plus database_url when the suite runs against
    PostgreSQL (tests/backend.py: LQOS_TEST_BACKEND=pg): a database of its
    own for its database_path."""
    import backend
    return backend.conf_text(text)


class PrivateApache:
    """scripts/private-apache in a folder of its own. The CGI programs read
    RUNDIR/lqos_test.conf on every request, so scenarios rewrite it."""

    def __init__(self, base, builddir=None, rundir=None):
        self.rundir = rundir or os.path.join(base, "run")
        self.builddir = builddir or BUILDDIR
        self.port = None
        self.pid = None
        self.conf = os.path.join(self.rundir, "lqos_test.conf")
        self.state = os.path.join(self.rundir, "state")
        self.errlog = os.path.join(self.rundir, "logs", "error.log")
        self.served = 0   # requests this test sent through it (METRIC requests_served)

    def start(self, conf_text=None, extra_conf=None):
        os.makedirs(self.rundir, exist_ok=True)
        os.chmod(self.rundir, 0o755)
        if conf_text is not None:
            self.write_conf(conf_text)
        if extra_conf is not None:
            with open(os.path.join(self.rundir, "extra.conf"), "w") as f:
                f.write(extra_conf)
        self.port = free_port()
        self.pid = start_private_apache(self.rundir, self.port, self.builddir)
        return self.pid

    def stop(self):
        """Stop our Apache by its pid (private-apache stop reads apache.pid)."""
        if self.pid is None:
            return
        stop_private_apache(self.rundir)
        self.pid = None

    def write_conf(self, text):
        text = with_test_database(text)
        os.makedirs(self.rundir, exist_ok=True)
        tmp = self.conf + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.conf)

    def set_conf(self, db_path, **keys):
        lines = ["# written by a hardening test", f'database_path="{db_path}"']
        lines += [f'{k}="{v}"' for k, v in keys.items()]
        self.write_conf("\n".join(lines) + "\n")

    def log_size(self):
        try:
            return os.path.getsize(self.errlog)
        except OSError:
            return 0

    def log_since(self, offset=0):
        try:
            with open(self.errlog, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def crashes(self, offset=0):
        return [ln for ln in self.log_since(offset).splitlines() if CRASH_RE.search(ln)]

    def request(self, method, path, body=None, headers=None, timeout=60):
        self.served += 1
        return request(self.port, method, path, body=body, headers=headers, timeout=timeout)

    def raw(self, data, shut_write=True, timeout=20):
        self.served += 1
        return raw_request(self.port, data, shut_write=shut_write, timeout=timeout)

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def submit(self, body, headers=None):
        return self.request("POST", "/api/telemetry", body=body, headers=headers)


def www_data_ids():
    """(uid, gid) Apache's children run as when this test runs as root."""
    import pwd
    try:
        pw = pwd.getpwnam("www-data")
        return pw.pw_uid, pw.pw_gid
    except KeyError:
        return None


def sqlite_integrity(db_path):
    """PRAGMA integrity_check of the file, read by the sqlite3 module."""
    import sqlite3
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def main_wrapper(fn):
    """Run fn() (which returns an exit status); any exception is a failure."""
    try:
        rc = fn()
    except Exception as e:  # reported as one failure, never swallowed
        check("test ran to the end", False, f"{e}\n{traceback.format_exc()}")
        rc = 1
    if rc == 77:
        sys.exit(77)
    sys.exit(finish() or rc)
