"""Customers' data requests (issue 10): lqos-telemetry-erase against a
database filled through a real private Apache (mod_cgid) from many client
addresses (a trusted proxy's X-Forwarded-For names them).

Checks: IPv4 and IPv6 addresses in other spellings, /24 and /64 prefixes,
neighbours outside the prefix kept, dry runs change nothing, bad input
exits 2 and deletes nothing, webhook outbox events (pending and delivered)
and idempotency keys go with the tests, the retention row counter stays
exact, the CSV export is empty afterwards, and the output and log never
show stored data. Expected rows are computed with Python's ipaddress.

Environment: LQOS_SRCDIR, LQOS_BUILDDIR (set by make check). Prints
"RESULT: N passed, M failed" last; 77 when Apache or the build is missing.
"""
import csv
import io
import ipaddress
import os
import json
import subprocess
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lqostest as lq  # noqa: E402
import backend  # noqa: E402
from lqostest import check  # noqa: E402

API_KEY = "erase-test-key-0123456789"
ERASE = os.path.join(lq.BUILDDIR, "sbin", "lqos-telemetry-erase")
AGENT = "EraseTest/1.0 (secret-agent-string)"

# Two results from each address; the neighbours must survive.
ADDRESSES = ["203.0.113.7", "203.0.113.8", "203.0.113.200", "203.0.114.7", "198.51.100.7",
             "2001:db8:1:2::5", "2001:db8:1:2:abcd::1", "2001:db8:1:3::1", "2001:db8:2::1"]


def db_rows(db):
    """The store's addresses (SQLite or PostgreSQL, tests/backend.py)."""
    tests = [r[0] for r in backend.rows(db, "SELECT client_ip FROM test_results")]
    outbox = [(json.loads(r[0]).get("client_ip"), r[1])
              for r in backend.rows(db, "SELECT payload, state FROM webhook_outbox")]
    keys = [r[0] for r in backend.rows(db, "SELECT client_ip FROM submission_keys")]
    counter = backend.one(db, "SELECT n FROM test_results_count")
    return tests, outbox, keys, counter


def run_erase(conf, *args):
    env = dict(os.environ, LQOS_TEST_CONF=conf)
    p = subprocess.run([ERASE, *args], env=env, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def inside(ip, net):
    a = ipaddress.ip_address(ip)
    n = ipaddress.ip_network(net)
    return a.version == n.version and a in n


def expect_erased(name, db, conf, target, net, before):
    """Erase `target`; exactly the rows whose address lies in `net` go."""
    rc, out, err = run_erase(conf, target)
    tests, outbox, keys, counter = db_rows(db)
    want_tests = [ip for ip in before[0] if not inside(ip, net)]
    want_outbox = [e for e in before[1] if not inside(e[0], net)]
    gone_tests = len(before[0]) - len(want_tests)
    check(f"{name}: exit 0", rc == 0, f"{rc} {out} {err}")
    check(f"{name}: the matching tests are gone, the others kept",
          sorted(tests) == sorted(want_tests), f"{sorted(tests)} vs {sorted(want_tests)}")
    check(f"{name}: their webhook events are gone (pending and delivered), the others kept",
          sorted(outbox) == sorted(want_outbox), f"{sorted(outbox)} vs {sorted(want_outbox)}")
    check(f"{name}: their idempotency keys are gone",
          not any(inside(k, net) for k in keys) and len(keys) == len(
              [k for k in before[2] if not inside(k, net)]), keys)
    check(f"{name}: the retention counter is exact", counter == len(tests), f"{counter} vs {len(tests)}")
    check(f"{name}: the counts are printed", f"deleted {gone_tests} stored tests" in out, out)
    check(f"{name}: the output shows no stored data", AGENT not in out + err and
          "secret-agent" not in out + err, out + err)
    return gone_tests


def scenario(base):
    s = lq.PrivateApache(base)
    db = os.path.join(s.state, "isp_telemetry.db")  # private-apache makes state/ Apache's
    # The webhook points at a closed port: events stay pending until the
    # test marks some delivered.
    conf_text = (f'database_path="{db}"\ntrusted_proxies="127.0.0.1/32 ::1/128"\n'
                 f'max_tests_per_ip_per_hour="0"\ntelemetry_api_key="{API_KEY}"\n'
                 f'webhook_url="http://127.0.0.1:{lq.free_port()}/hook"\n'
                 'webhook_prompt_delivery="false"\n')
    s.start(conf_text)
    try:
        for ip in ADDRESSES:
            for n in range(2):
                r = s.submit(lq.native_single(), headers={
                    "X-Forwarded-For": ip, "User-Agent": AGENT,
                    "Idempotency-Key": uuid.uuid4().hex})
                check(f"submit from {ip} #{n + 1}", r.status == 200 and r.json["client_ip"] == ip, r)
        # Some events were delivered: their payloads still hold the address.
        backend.execute(db, "UPDATE webhook_outbox SET state = 'delivered' WHERE id % 2 = 0")
        conf = s.conf
        before = db_rows(db)
        check("seeded: two rows and two webhook events per address",
              len(before[0]) == 2 * len(ADDRESSES) and len(before[1]) == 2 * len(ADDRESSES)
              and len(before[2]) == 2 * len(ADDRESSES), before)

        # Bad input: exit 2, clear message, nothing deleted.
        for bad, why in (("banana", "not an IP"), ("203.0.113.7/24", "bits set"),
                         ("203.0.113.0/33", "not an IP"), ("10.0.0.0/8", "wider"),
                         ("2001::/16", "wider"), ("2001:db8::/16", "bits set"), ("fe80::1%eth0", "not an IP"),
                         ("", "not an IP"), (" 203.0.113.7", "not an IP")):
            rc, out, err = run_erase(conf, bad)
            check(f"bad input {bad!r}: exit 2 with a clear message", rc == 2 and why in err and
                  out == "", f"{rc} {out!r} {err!r}")
        rc, out, err = run_erase(conf)
        check("no argument: exit 2 with usage", rc == 2 and "usage" in err, f"{rc} {err}")
        rc, out, err = run_erase(conf, "203.0.113.7", "203.0.113.8")
        check("two arguments: exit 2 with usage", rc == 2 and "usage" in err, f"{rc} {err}")
        check("bad input deleted nothing", db_rows(db) == before)

        # Dry runs count and change nothing.
        rc, out, err = run_erase(conf, "--dry-run", "203.0.113.7")
        check("dry run: exit 0 and counts", rc == 0 and "would delete 2 stored tests" in out
              and "nothing changed" in out and "2 idempotency keys" in out, f"{rc} {out} {err}")
        pending = sum(1 for e in before[1] if e[0] == "203.0.113.7" and e[1] == "pending")
        check("dry run: pending and settled events counted apart",
              f"{pending} undelivered webhook events, {2 - pending} delivered" in out, out)
        rc, out, err = run_erase(conf, "2001:DB8:1:2:0:0:0:0/64", "--dry-run")
        check("dry run of an IPv6 /64 in another spelling", rc == 0 and
              "2001:db8:1:2::/64: would delete 4 stored tests" in out, f"{rc} {out} {err}")
        check("dry runs deleted nothing", db_rows(db) == before)

        # Each erasure (in some spelling), the network it covers, how many tests go.
        after = before
        for name, target, net, want in (
                ("IPv4 address (mapped spelling)", "::ffff:203.0.113.7", "203.0.113.7/32", 2),
                ("IPv4 /24 (203.0.114.7 and 198.51.100.7 kept)", "203.0.113.0/24", "203.0.113.0/24", 4),
                ("IPv6 address (long spelling)", "2001:DB8:1:2:0:0:0:5", "2001:db8:1:2::5/128", 2),
                ("IPv6 /64 (2001:db8:1:3::1 kept)", "2001:db8:1:2::/64", "2001:db8:1:2::/64", 2)):
            n = expect_erased(name, db, conf, target, net, after)
            check(f"{name}: {want} tests", n == want, n)
            after = db_rows(db)
        rc, out, err = run_erase(conf, "192.0.2.1")
        check("an address with nothing stored: exit 0, zero counts",
              rc == 0 and "deleted 0 stored tests" in out and db_rows(db) == after, f"{rc} {out}")

        # The export (the access request's answer) shows nothing for them.
        r = s.get("/api/telemetry/customer/203.0.113.0/24?format=csv",
                  headers={"X-API-Key": API_KEY})
        rows = list(csv.reader(io.StringIO(r.body.decode("utf-8"))))
        check("CSV export after erasure: header only", r.status == 200 and len(rows) == 1, r)
        r = s.get("/api/telemetry/customer/203.0.114.7?format=csv", headers={"X-API-Key": API_KEY})
        rows = list(csv.reader(io.StringIO(r.body.decode("utf-8"))))
        check("CSV export of a kept neighbour: its two tests", r.status == 200 and len(rows) == 3
              and all("203.0.114.7" in row for row in rows[1:]), r)
        # The store still takes results for an erased address.
        r = s.submit(lq.native_single(), headers={"X-Forwarded-For": "203.0.113.7"})
        tests, _, _, counter = db_rows(db)
        check("a new submission after erasure is stored; counter exact",
              r.status == 200 and counter == len(tests), f"{r} {counter} {len(tests)}")
        check("integrity", backend.integrity(db) == "ok")

        # A database that cannot be opened: exit 1, nothing printed as done.
        missing = os.path.join(base, "missing.conf")
        with open(missing, "w") as f:
            f.write(f'database_path="{base}/nowhere/x.db"\n')
            if backend.IS_PG:   # a database that does not exist on the server
                f.write('database_url="%s"\n' % backend.url_for(db).replace(
                    backend.db_name(db), "lqos_no_such_database"))
        rc, out, err = run_erase(missing, "203.0.114.7")
        check("missing database: exit 1 and says so, creates nothing",
              rc == 1 and ("no telemetry database" in err or backend.IS_PG and "lqos_no_such_database" in err)
              and not os.path.exists(f"{base}/nowhere"), f"{rc} {out} {err}")
        check("no crash in the Apache log", s.crashes() == [], s.crashes())
    finally:
        s.stop()


def main():
    missing = lq.apache_missing()
    if missing:
        return lq.skip(f"{missing} not available")
    if not os.access(ERASE, os.X_OK):
        return lq.skip(f"{ERASE} not built")
    why = backend.start()
    if why:
        return lq.skip(f"{backend.NAME} back end: {why}")
    base = tempfile.mkdtemp(prefix="lqos-erase-")
    os.chmod(base, 0o755)
    try:
        lq.run_timed(scenario, base)
    finally:
        backend.stop()
        lq.remove_unless_failed(base)
    return 0


if __name__ == "__main__":
    lq.main_wrapper(main)
