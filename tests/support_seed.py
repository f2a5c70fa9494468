"""Seeded data and a private Apache for the support API and dashboard tests
(tests/support_api.py, tests/support_dashboard.py). Not a test itself.

The results are submitted by running cgi-bin/lqos-submit as a plain CGI
process with REMOTE_ADDR set (one process per result, the same program
Apache runs), from customers spread over IPv4 and IPv6 prefixes and their
edges, with every grade and both test types. Then their timestamps are
spread over days (row i at base + i * 2 h + a few ms) so that time filters
have boundaries to test, and three rows get text that the API refuses
today but an older database may hold (a newline, a leading tab, a leading
CR in the User-Agent). A webhook URL points at a loopback port that
refuses connections, and one flusher run records the failure, so the
webhook queue has pending events and a last error to show.
"""
import datetime
import ipaddress
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lqostest import BUILDDIR, SRCDIR, free_port, start_private_apache, stop_private_apache  # noqa: E402,F401
import backend  # noqa: E402

SUBMIT = os.path.join(BUILDDIR, "cgi-bin", "lqos-submit")
FLUSH = os.path.join(BUILDDIR, "sbin", "lqos-webhook-flush")
FIXTURES = os.path.join(SRCDIR, "tests", "fixtures")

API_KEY = "support-test-key-4f1c9a"
BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"
# Stored text that spreadsheets would run as formulas, or that needs quoting.
UA_FORMULA = "=cmd|' /C calc'!A0"
UA_PLUS = "+1"
UA_MINUS = "-2"
UA_AT = "@SUM(1)"
UA_QUOTES = 'Mozilla/5.0 (X11; Linux x86_64), "quoted" browser'
UA_COMMAS = "commas, and, more"
UA_HTML = '<img src=x onerror="document.title=\'pwned\'">'
# Injected straight into the database (the submission path refuses them).
UA_NEWLINE = 'line one\nline two, "three"'
UA_TAB = "\tTAB-start"
UA_CR = "\rCR-start"


def single(increase, down=100.0, up=20.0):
    """A native single-user result: every phase with the same latency
    increase, so the overall grade is that increase's grade."""
    def phase(mbps):
        return {"throughput_mbps": mbps, "latency_p50_ms": 12.0 + increase,
                "latency_p90_ms": 15.0 + increase * 1.2, "latency_increase_ms": increase,
                "jitter_ms": 1.0 + increase / 20.0}
    return {"test_type": "single_user", "test_duration_seconds": 40.0, "baseline_latency_ms": 12.0,
            "server_name": "speedtest-support", "download": phase(down), "upload": phase(up),
            "bidirectional": phase(down * 0.8),
            # What the page reports from Resource Timing (issue 9).
            "protocol": {"probe": "h2", "load": "h2"}}


def household_bad():
    return {"test_type": "virtual_household", "test_duration_seconds": 30, "baseline_latency_ms": 14.0,
            "download_mbps": 22.0, "upload_mbps": 3.5,
            "alex": {"latency_increase_ms": 450.0, "jitter_ms": 80.0, "loss_pct": 6.0},
            "sarah": {"latency_increase_ms": 320.0, "jitter_ms": 60.0, "delivered_pct": 70.0},
            "jake": {"fetch_ratio_p90": 1.6, "stalls": 3},
            "computer": {"spare_capacity_share_pct": 4.0, "throughput_mbps": 1.0}}


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return json.load(f)


def seed_specs():
    """(client address as sent, payload, User-Agent) in submission order."""
    hh_good = fixture("native_household.json")
    return [
        ("203.0.113.5", single(2, 310, 42), BROWSER_UA),          # A+
        ("203.0.113.5", single(20, 290, 40), BROWSER_UA),         # A
        ("203.0.113.5", single(45, 250, 35), BROWSER_UA),         # B
        ("203.0.113.5", single(100, 180, 30), BROWSER_UA),        # C
        ("203.0.113.5", single(300, 120, 18), BROWSER_UA),        # D
        ("203.0.113.5", single(500, 60, 8), BROWSER_UA),          # F
        ("203.0.113.5", hh_good, BROWSER_UA),
        ("203.0.113.77", single(350, 95, 12), UA_FORMULA),        # D
        ("203.0.113.200", single(600, 40, 5), UA_PLUS),           # F
        ("203.0.113.0", single(25, 150, 20), UA_MINUS),           # /24 low edge
        ("203.0.113.255", single(150, 140, 21), UA_AT),           # /24 high edge
        ("203.0.112.255", single(10, 500, 50), UA_QUOTES),        # just below the /24
        ("203.0.114.0", single(10, 480, 49), UA_COMMAS),          # just above the /24
        ("::ffff:198.51.100.7", fixture("original_household.json"), BROWSER_UA),
        ("198.51.100.7", single(70, 75, 15), BROWSER_UA),
        ("1.0.0.1", single(5, 900, 90), BROWSER_UA),
        ("223.255.255.254", household_bad(), BROWSER_UA),
        ("2001:db8:1200:5::1", single(40, 220, 33), BROWSER_UA),
        ("2001:db8:1200:5::2", household_bad(), BROWSER_UA),
        ("2001:db8:1200:5:ffff:ffff:ffff:ffff", single(250, 110, 14), BROWSER_UA),  # /64 top
        ("2001:db8:1200:6::1", single(800, 30, 3), BROWSER_UA),
        ("2001:db8:1200:ff:ffff:ffff:ffff:ffff", single(3, 940, 95), BROWSER_UA),   # /56 top
        ("2001:db8:1200::", single(29.9, 200, 30), BROWSER_UA),                      # /56 bottom
        ("2001:db8:11ff:ffff:ffff:ffff:ffff:ffff", single(15, 300, 30), BROWSER_UA), # below /56
        ("2001:db8:1201::", single(15, 300, 30), BROWSER_UA),                        # above /56
        ("2001:DB8:1200:5:0:0:0:1", hh_good, BROWSER_UA),
        ("fd00::1234", fixture("original_single.json"), BROWSER_UA),
        ("2001:db8:1200:5::1", single(90, 205, 31), UA_HTML),
    ]


def refusing_socket():
    """A bound loopback port that never listens: connections are refused,
    and no other program can take the port while the socket is open."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    return s


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


class Seeded:
    """A run folder with a config, a seeded database and (after start())
    a private Apache. Use as a context manager: the Apache is stopped by
    its pid and the folder removed on exit."""

    def __init__(self, base, hours_apart=2, extra_conf=()):
        self.base = base
        self.hours_apart = hours_apart
        self.rundir = tempfile.mkdtemp(prefix="lqos-support-")
        self.conf = os.path.join(self.rundir, "lqos_test.conf")
        self.db = os.path.join(self.rundir, "state", "isp_telemetry.db")
        self.refuser = refusing_socket()
        self.hook_url = "http://127.0.0.1:%d/hook" % self.refuser.getsockname()[1]
        self.port = None
        self.pid = None
        self.rows = []
        with open(self.conf, "w") as f:
            f.write('# support API test\n')
            for line in backend.conf_lines(self.db):   # SQLite, or PostgreSQL (LQOS_TEST_BACKEND)
                f.write(line + "\n")
            f.write('max_tests_per_ip_per_hour="0"\n')
            f.write('telemetry_api_key="%s"\n' % API_KEY)
            f.write('webhook_url="%s"\n' % self.hook_url)
            f.write('sponsor_name="Support Test ISP"\n')
            for line in extra_conf:
                f.write(line + "\n")
        os.chmod(self.conf, 0o644)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.pid is not None:
            stop_private_apache(self.rundir)
            self.pid = None
        self.refuser.close()
        if os.environ.get("LQOS_KEEP_RUNDIR"):
            print("kept", self.rundir)
        else:
            shutil.rmtree(self.rundir, ignore_errors=True)

    def submit(self, ip, payload, ua):
        body = json.dumps(payload).encode()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("LIBREQOS_", "HTTP_", "REMOTE_", "CONTENT_", "LQOS_"))}
        env.update({"GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1",
                    "REQUEST_METHOD": "POST", "CONTENT_TYPE": "application/json",
                    "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": ip,
                    "SCRIPT_NAME": "/api/telemetry", "REQUEST_URI": "/api/telemetry",
                    "LQOS_TEST_CONF": self.conf, "HTTP_USER_AGENT": ua,
                    # Prompt delivery would start the flusher: a no-op here,
                    # one real flusher run follows the seeding.
                    "LQOS_WEBHOOK_FLUSH": "/bin/true"})
        p = subprocess.run([SUBMIT], input=body, capture_output=True, env=env, timeout=60)
        out = p.stdout
        sep = out.find(b"\r\n\r\n")
        doc = json.loads(out[sep + 4:]) if sep >= 0 else None
        if not doc or not doc.get("success"):
            raise RuntimeError("seeding %s failed: %r %r" % (ip, out[:400], p.stderr[-400:]))
        return doc

    def seed(self):
        """Submit every spec, spread the timestamps, inject the stored
        text, run the flusher once. Fills self.rows with the model of each
        stored row: test_id, timestamp, client_ip, test_type, overall,
        grades, user_agent."""
        for ip, payload, ua in seed_specs():
            doc = self.submit(ip, payload, ua)
            self.rows.append({"test_id": doc["test_id"], "client_ip": doc["client_ip"],
                              "sent_ip": ip, "test_type": doc["test_type"],
                              "overall": doc["grades"]["overall"], "grades": doc["grades"],
                              "user_agent": ua, "payload": payload})
        inject = {1: UA_NEWLINE, 2: UA_TAB, 3: UA_CR}
        for i, row in enumerate(self.rows):
            t = self.base + datetime.timedelta(hours=self.hours_apart * i,
                                               milliseconds=(i * 37) % 1000)
            row["timestamp"] = iso(t)
            row["dt"] = t
            if i in inject:
                row["user_agent"] = inject[i]
            backend.execute(self.db, "UPDATE test_results SET timestamp = ?, user_agent = ? WHERE test_id = ?",
                            (row["timestamp"], row["user_agent"], row["test_id"]))
        p = subprocess.run([FLUSH, "--config", self.conf, "--quiet"], capture_output=True,
                           timeout=120, env=dict(os.environ, LQOS_TEST_CONF=self.conf))
        self.flush_output = p.stdout + p.stderr
        return self.rows

    def start(self):
        """Start the private Apache on a free port (files www-data's when
        root, as Apache then runs as www-data)."""
        if os.getuid() == 0:
            www = pwd.getpwnam("www-data")
            for d, _, files in os.walk(os.path.join(self.rundir, "state")):
                os.chown(d, www.pw_uid, www.pw_gid)
                for name in files:
                    os.chown(os.path.join(d, name), www.pw_uid, www.pw_gid)
        self.port = free_port()
        self.pid = start_private_apache(self.rundir, self.port, timeout=120)
        return self.port

    def url(self, path=""):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    # ------------------------------------------------------------ the model

    def select(self, grades=None, test_type=None, since=None, until=None, net=None):
        """The rows a filter must return, newest first (Python's own
        ipaddress and datetime, independent of the C code)."""
        out = []
        for row in self.rows:
            if grades is not None and row["overall"] not in grades:
                continue
            if test_type is not None and row["test_type"] != test_type:
                continue
            if since is not None and row["dt"] < since:
                continue
            if until is not None and row["dt"] > until:
                continue
            if net is not None:
                addr = ipaddress.ip_address(row["client_ip"])
                if addr.version != net.version or addr not in net:
                    continue
            out.append(row)
        return list(reversed(out))
