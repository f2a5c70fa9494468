#!/usr/bin/env python3
"""The support dashboard (htdocs/support/) in headless Chromium: key entry
(wrong key and right key), the recent table, grade / test type / time
filters, CSV download, customer search by prefix with its chart, one
test's details, API error and empty states, phone width, no console
errors. Screenshots go to tests/artifacts/ in the build tree.

Data: tests/support_seed.py (the same seed as tests/support_api.py, with
times in the last three days). What the page must show is computed here
from the seed and handed to tests/browser/support-dashboard.mjs.

Environment: LQOS_SRCDIR, LQOS_BUILDDIR (set by make check);
LQOS_TEST_PROFILE=quick skips this test (make distcheck).
Prints "RESULT: N passed, M failed" last; exits 1 on any failure, 77 when
Chromium, Node.js or the built programs are missing.
"""
import datetime
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "browser"))
import backend  # noqa: E402
import support_seed as seedmod  # noqa: E402

RUNNER = os.path.join(HERE, "browser", "support-dashboard.mjs")
CHROMIUM = os.environ.get("LQOS_CHROMIUM", "/usr/bin/chromium")
ZONE = "Asia/Kolkata"            # the desktop browser's zone: UTC+05:30, no DST
ZONE_OFFSET = datetime.timedelta(hours=5, minutes=30)
UTC = datetime.timezone.utc


def skip(why):
    print(f"SKIP: {why}")
    print("RESULT: 0 passed, 0 failed")
    return 77


def local_input(dt):
    """The datetime-local value for instant `dt` in the browser's zone."""
    return (dt + ZONE_OFFSET).strftime("%Y-%m-%dT%H:%M")


def expectations(sd):
    ids = lambda rows: [r["test_id"] for r in rows]  # noqa: E731
    net56 = ipaddress.ip_network("2001:db8:1200::/56")
    rows = sd.rows
    since_row, until_row = rows[4], rows[20]
    since = since_row["dt"].replace(second=0, microsecond=0)
    until = until_row["dt"].replace(second=59, microsecond=999000)
    household = rows[6]
    single = rows[3]
    return {
        "timezone": ZONE,
        "newest": ids(sd.select()),
        "df": ids(sd.select(grades={"D", "F"})),
        "range": {"since": local_input(since_row["dt"]), "until": local_input(until_row["dt"]),
                  "sinceIso": seedmod.iso(since),
                  "ids": ids(sd.select(grades={"D", "F"}, test_type="single_user", since=since, until=until))},
        "ip5": {"ip": "203.0.113.5", "ids": ids(sd.select(net=ipaddress.ip_network("203.0.113.5/32")))},
        "prefix": {"query": "2001:db8:1200:0:0:0:0:0/56", "canonical": "2001:db8:1200::/56",
                   "ids": ids(sd.select(net=net56)), "f": ids(sd.select(net=net56, grades={"F"}))},
        "household": {"id": household["test_id"],
                      "grades": {u: household["grades"][u] for u in ("alex", "sarah", "jake", "computer")}},
        "single": {"id": single["test_id"],
                   "phases": [[p, single["grades"][p]] for p in ("download", "upload", "bidirectional")],
                   # 60000 / the loaded p50 (ms), as the server derives it.
                   "rpm": [str(round(60000 / single["payload"][p]["latency_p50_ms"]))
                           for p in ("download", "upload", "bidirectional")]},
        "html": {"id": next(r["test_id"] for r in rows if r["user_agent"] == seedmod.UA_HTML)},
        "webhookPending": len(rows),
    }


def main():
    if os.environ.get("LQOS_TEST_PROFILE") == "quick":
        return skip("browser test skipped in the quick profile")
    try:
        import harness  # tests/browser/harness.py: npm tooling for the browser tests
    except ImportError as e:
        return skip(f"tests/browser/harness.py missing ({e})")
    missing = harness.missing_tools()
    if missing:
        return skip("missing " + ", ".join(missing))
    if not os.access(seedmod.SUBMIT, os.X_OK):
        return skip(f"{seedmod.SUBMIT} not built")
    try:
        deps = harness.ensure_deps(seedmod.BUILDDIR)
    except (subprocess.SubprocessError, OSError) as e:
        print(f"FAIL: installing playwright-core with npm: {e}")
        print("RESULT: 0 passed, 1 failed")
        return 1
    # tests/artifacts/ (git-ignored) in the source tree, or in the build
    # tree when the source is read-only (make distcheck).
    shots = os.path.join(seedmod.SRCDIR, "tests", "artifacts")
    try:
        os.makedirs(shots, exist_ok=True)
        if not os.access(shots, os.W_OK):
            raise OSError("read-only")
    except OSError:
        shots = os.path.join(seedmod.BUILDDIR, "tests", "artifacts")
        os.makedirs(shots, exist_ok=True)
    why = backend.start()
    if why:
        return skip(f"{backend.NAME} back end: {why}")
    started = time.monotonic()
    # Times within the last three days, on whole minutes (the form's
    # datetime-local inputs have minutes).
    now = datetime.datetime.now(UTC).replace(second=0, microsecond=0)
    passed = failed = 0
    with seedmod.Seeded(now - datetime.timedelta(hours=60)) as sd:
        sd.seed()
        sd.start()
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(expectations(sd), f)
            expect_path = f.name
        try:
            env = dict(os.environ, LQOS_BROWSER_DEPS=deps, LQOS_CHROMIUM=CHROMIUM)
            p = subprocess.run(["node", RUNNER, "--url", sd.url(), "--key", seedmod.API_KEY,
                                "--expect", expect_path, "--shots", shots],
                               env=env, capture_output=True, text=True, timeout=300)
        finally:
            os.unlink(expect_path)
        lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
        if not lines:
            print(f"FAIL: the browser runner printed no result (exit {p.returncode}): {p.stderr[-3000:]}")
            failed += 1
        else:
            result = json.loads(lines[-1])
            for c in result["checks"]:
                if c["ok"]:
                    passed += 1
                else:
                    failed += 1
                    print(f"FAIL: {c['name']}: {json.dumps(c.get('detail'))[:1500]}")
            print("screenshots: " + " ".join(os.path.basename(s) for s in result.get("screenshots", [])))
            print(f"in {shots}")
    backend.stop()
    print(f"dashboard browser checks on {backend.NAME} took {time.monotonic() - started:.1f} s")
    print(f"RESULT: {passed} passed, {failed} failed")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
