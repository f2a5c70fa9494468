"""The test page keeps a finished test when its submission fails (issue
10), in Debian's headless Chromium against a real private Apache and
SQLite: playwright intercepts the page's first POST /api/telemetry once
(tests/browser/submit-retry.mjs) and every later try goes through as is.

- lost answer: the first POST reaches the server and is stored, then the
  browser sees a connection reset; the page retries with the same
  Idempotency-Key and shows the stored test_id; one row in the database.
- 503 with Retry-After: 1: the page says it is saving, waits about a
  second, retries, and the result is stored once.

Run under `flock /tmp/lqos-heavy.lock` by hand. Prints "RESULT: N passed,
M failed"; 77 when node, Chromium or Apache are missing.
"""
import json
import os
import sqlite3
import subprocess
import sys
import time

SRCDIR = os.environ.get("LQOS_SRCDIR") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILDDIR = os.environ.get("LQOS_BUILDDIR") or SRCDIR
sys.path.insert(0, os.path.join(SRCDIR, "tests", "browser"))
sys.path.insert(0, os.path.join(SRCDIR, "tests"))
import harness  # noqa: E402
import lqostest as lq  # noqa: E402
from lqostest import check  # noqa: E402

RUNNER = os.path.join(SRCDIR, "tests", "browser", "submit-retry.mjs")


def run(deps, url, fault):
    env = dict(os.environ, LQOS_BROWSER_DEPS=deps, LQOS_CHROMIUM=harness.CHROMIUM)
    p = subprocess.run(["node", RUNNER, "--url", url, "--fault", fault, "--timeout", "120"],
                       env=env, capture_output=True, text=True, timeout=240)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        return {"failure": f"runner printed nothing (exit {p.returncode}): {p.stderr[-2000:]}"}
    return json.loads(lines[-1])


def stored(db):
    con = sqlite3.connect(db, timeout=30)
    try:
        return [r[0] for r in con.execute("SELECT test_id FROM test_results ORDER BY id")]
    finally:
        con.close()


def main():
    if lq.QUICK:
        return lq.skip("browser tests (quick profile)")
    missing = harness.missing_tools() + ([lq.apache_missing()] if lq.apache_missing() else [])
    if missing:
        return lq.skip("browser retry test needs " + ", ".join(missing))
    try:
        deps = harness.ensure_deps(BUILDDIR)
    except (subprocess.CalledProcessError, OSError) as e:
        return lq.skip(f"cannot install playwright-core from npm: {e}")
    rundir = os.path.join(BUILDDIR, "tests", "browser-retry-run")
    subprocess.run(["rm", "-rf", rundir], check=False)
    port = harness.free_port()
    harness.start_apache(SRCDIR, BUILDDIR, rundir, port, ["max_tests_per_ip_per_hour=0"])
    db = os.path.join(rundir, "state", "isp_telemetry.db")
    url = f"http://127.0.0.1:{port}/"
    try:
        before = []
        for fault in ("lost", "503"):
            out = run(deps, url, fault)
            ok = check(f"{fault}: the page ran", not out.get("failure") and out.get("state") == "done",
                       out.get("failure") or out.get("error") or out)
            if not ok:
                continue
            posts = out["posts"]
            after = stored(db)
            new = [t for t in after if t not in before]
            before = after
            check(f"{fault}: the page tried again", len(posts) == 2 and out["submitRetries"] == 1, posts)
            check(f"{fault}: every try carried the same Idempotency-Key",
                  posts[0]["key"] and all(p["key"] == posts[0]["key"] for p in posts), posts)
            check(f"{fault}: the customer was told it is saving",
                  any("Saving your result" in m for m in out["savingMessages"]), out["savingMessages"])
            check(f"{fault}: one row stored", len(new) == 1, new)
            body = (out.get("response") or {}).get("body") or {}
            check(f"{fault}: the page shows the stored test_id", body.get("stored") is True
                  and new and body.get("test_id") == new[0] and out.get("testIdShown") == new[0],
                  (body, new, out.get("testIdShown")))
            if fault == "lost":
                first = (out.get("firstAnswer") or {}).get("body") or {}
                check("lost: the lost first answer had stored it under the same test_id",
                      out.get("firstAnswer", {}).get("status") == 200 and first.get("test_id") == body.get("test_id"),
                      out.get("firstAnswer"))
            else:
                gap = (posts[1]["at"] - posts[0]["at"]) / 1000.0 if len(posts) == 2 else 0
                check("503: the retry honoured Retry-After: 1", gap >= 0.9, f"{gap:.2f} s")
            check(f"{fault}: no page errors", out.get("consoleErrors") == [], out.get("consoleErrors"))
    finally:
        harness.stop_apache(SRCDIR, rundir)
    return 0


if __name__ == "__main__":
    t0 = time.monotonic()
    lq.main_wrapper(main)
