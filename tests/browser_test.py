#!/usr/bin/env python3
"""Browser tests: the real page in Debian's headless Chromium against the
private Apache (both modes, desktop and a 390x844 phone viewport). Each
run must finish, show the grades POST /api/telemetry returned, store a
row that GET /api/telemetry/recent serves with the same grades, draw the
chart, log no console error, and fit the phone's width. A pool check
proves that latency probes do not wait behind load transfers in the
browser's connection pool. Screenshots go to BUILDDIR/tests/artifacts/.

Runs use ?duration=short so CI stays fast; the page's default (checked
here too) is the real ~40 s test."""
import json
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import urllib.request

SRCDIR = os.environ.get("LQOS_SRCDIR") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILDDIR = os.environ.get("LQOS_BUILDDIR") or SRCDIR
sys.path.insert(0, os.path.join(SRCDIR, "tests", "browser"))
import harness  # noqa: E402

GRADES = {"A+", "A", "B", "C", "D", "F"}
SINGLE_KEYS = ("overall", "download", "upload", "bidirectional")
HOUSEHOLD_KEYS = ("overall", "alex", "sarah", "jake", "computer")
results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print("%s: %s%s" % ("PASS" if ok else "FAIL", name, "" if ok else ": %s" % detail), flush=True)


def get_json(url):
    # The https server's certificate is the self-signed one made for the test.
    ctx = ssl._create_unverified_context() if url.startswith("https:") else None
    with urllib.request.urlopen(url, timeout=30, context=ctx) as r:
        return json.loads(r.read().decode())


def check_protocol(base, label, out, want):
    """The page recorded the protocol its probes and load used (Resource
    Timing nextHopProtocol), sent it, and the server stored it in the
    test's details (GET /api/telemetry/test/<id>), with the responsiveness
    in RPM per phase."""
    if out.get("state") != "done":
        return
    sent = (out.get("payload") or {}).get("protocol") or {}
    check("%s: page recorded protocol %s for probes and load" % (label, want),
          sent.get("probe") == want and sent.get("load") == want, sent)
    test_id = ((out.get("response") or {}).get("body") or {}).get("test_id")
    details = (get_json(base + "api/telemetry/test/%s" % test_id).get("test") or {}).get("details") or {}
    check("%s: stored details carry the protocol" % label, details.get("protocol") == sent, details.get("protocol"))
    if out["mode"] == "single":
        p = out["payload"]
        want_rpm = [round(60000 / p[ph]["latency_p50_ms"]) for ph in ("download", "upload", "bidirectional")]
        got_rpm = [(details.get(ph) or {}).get("responsiveness_rpm") for ph in ("download", "upload", "bidirectional")]
        check("%s: responsiveness in RPM stored per phase (60000 / loaded p50)" % label, got_rpm == want_rpm,
              (got_rpm, want_rpm))
        shown = out.get("responsivenessText") or ""
        check("%s: results page shows the RPM beside the grade" % label,
              all(str(v) in shown.replace(",", "") for v in want_rpm) and "RPM" in shown, shown)


def check_run(base, label, out, mode, phone):
    keys = SINGLE_KEYS if mode == "single" else HOUSEHOLD_KEYS
    ok = not out.get("failure") and out.get("state") == "done"
    check("%s: runs to completion" % label, ok, out.get("failure") or out.get("error") or out.get("state"))
    if not ok:
        return
    check("%s: no console errors" % label, not out["consoleErrors"], out["consoleErrors"])
    resp = out["response"]
    body = resp.get("body") or {}
    grades = body.get("grades") or {}
    check("%s: server graded and stored it" % label,
          resp.get("status") == 200 and body.get("stored") is True and body.get("test_id"), resp)
    check("%s: every grade is a letter" % label, all(grades.get(k) in GRADES for k in keys), grades)
    shown = out["shown"]
    check("%s: page shows the server's grades" % label,
          all(shown["grades"].get(k) == grades.get(k) for k in keys), (shown["grades"], grades))
    check("%s: storage note names the IP and the test id" % label,
          shown["storageNote"] and "127.0.0.1" in shown["storageNote"] and shown["testId"] == body.get("test_id"),
          shown["storageNote"])
    check("%s: chart and explanations drawn" % label, shown["hasChart"] and shown["hasMeanings"], shown)
    check("%s: sponsor branding shown" % label, out.get("sponsorText") and "Example Fibre" in out["sponsorText"],
          out.get("sponsorText"))
    live = out.get("liveDuringLoad") or {}
    check("%s: live throughput and latency shown under load" % label,
          (live.get("down", "–") != "–" or live.get("up", "–") != "–") and live.get("latency", "–") != "–", live)
    if phone:
        check("%s: fits the phone's width" % label, shown["scrollWidth"] <= shown["innerWidth"] + 1,
              (shown["scrollWidth"], shown["innerWidth"]))

    p = out["payload"]
    if mode == "single":
        sane = p["baseline_latency_ms"] > 0 and all(
            p[ph]["throughput_mbps"] > 10 and p[ph]["latency_p50_ms"] > 0 and
            p[ph]["latency_p90_ms"] >= p[ph]["latency_p50_ms"] for ph in ("download", "upload", "bidirectional"))
        check("%s: measured every phase" % label, sane, p)
        # Probes sent while load ran must not have waited for a connection.
        loaded = [ph for ph in out["detail"]["phases"] if ph["name"] != "baseline"]
        queued = [pr["queued"] for pr in out["detail"]["probes"]
                  if pr.get("queued") is not None and any(ph["start"] <= pr["t"] < ph["end"] for ph in loaded)]
        queued = [q for q in queued if q == q]
        # A probe stuck behind a load request waits for that transfer
        # (hundreds of ms or more, every time); a busy CI machine can
        # delay the odd probe for scheduling reasons. So: the 95th
        # percentile stays under 50 ms and at most 2 % pass 100 ms.
        srt = sorted(queued)
        p95 = srt[int(0.95 * (len(srt) - 1))] if srt else -1
        slow = sum(1 for q in srt if q > 100)
        check("%s: probes under load never queued for a connection" % label,
              len(srt) > 10 and p95 < 50 and slow <= 0.02 * len(srt),
              "p95 %.1f ms, %d of %d over 100 ms, max %.1f" % (p95, slow, len(srt), srt[-1] if srt else -1))
    else:
        sane = p["download_mbps"] > 10 and p["upload_mbps"] > 10 and p["jake"]["stalls"] >= 0 and \
            0 <= p["computer"]["spare_capacity_share_pct"] <= 100
        check("%s: measured capacity and all four users" % label, sane, p)
        # Computer's upload ran (its requests grow to hundreds of MiB on
        # loopback; built wrongly they fail with ERR_BLOB_OUT_OF_MEMORY).
        check("%s: Computer's upload ran" % label, out["detail"].get("computer_up_mbps", 0) > 1,
              out["detail"].get("computer_up_mbps"))
        # Computer is judged against the download capacity measured with
        # both directions loaded (README, The browser test), less what
        # Sarah and Jake received.
        d = out["detail"]
        both = d.get("capacity_both_mbps", {})
        spare = both.get("down", 0) - d.get("sarah_down_mbps", 0) - d.get("jake_mbps", 0)
        want = min(100.0, 100.0 * d.get("computer_down_mbps", 0) / spare) if spare > 0 else 0.0
        check("%s: Computer's share is of the capacity with both directions loaded" % label,
              both.get("down", 0) > 10 and both.get("up", 0) > 10 and
              abs(p["computer"]["spare_capacity_share_pct"] - want) <= 0.1 and
              "capacity_both" in [ph.get("name") for ph in d.get("phases", [])],
              (both, p["computer"], round(want, 2)))

    recent = get_json(base + "api/telemetry/recent?limit=50")
    rows = [t for t in recent.get("tests", []) if t.get("test_id") == body.get("test_id")]
    check("%s: row in /api/telemetry/recent" % label, len(rows) == 1, body.get("test_id"))
    if rows:
        row = rows[0]
        col = {k: ("overall_grade" if k == "overall" else "%s_grade" % k) for k in keys}
        same = all(row.get(col[k]) == grades.get(k) for k in keys)
        score = "single_user_score" if mode == "single" else "household_score"
        check("%s: stored grades equal the page's" % label,
              same and row.get(score) == grades.get(score) and row.get("test_type") == p["test_type"],
              (row, grades))


def pool_check(base, deps):
    out = harness.run_page(deps, base, mode="poolcheck", timeout=60)
    ok = not out.get("failure")
    check("pool check: ran", ok, out.get("failure"))
    if not ok:
        return
    planned = out["plannedSeconds"]
    check("default single-user test lasts about 40 s", 35 <= planned["single"] <= 45, planned)
    check("default household test lasts about 30 s after its capacity estimate",
          35 <= planned["household"] <= 50, planned)
    omit = [s["queued"] for s in out["omit"]["samples"] if s["ok"] and s["queued"] == s["queued"]]
    cred = [s["queued"] for s in out["credentialed"]["samples"]]
    check("pool check: uncredentialed probes answered beside 6 downloads",
          len(omit) == len(out["omit"]["samples"]) and max(omit) < 50,
          "queued %s" % [round(q, 1) for q in omit])
    # The control: the same probes with credentials share the downloads'
    # pool and wait (or time out); this shows the check can fail.
    check("pool check: credentialed probes (control) do wait",
          statistics.median(cred) > 10 * max(1.0, statistics.median(omit)),
          "control queued %s" % [round(q, 1) for q in cred])
    check("pool check: load kept running", out["omit"]["loadBytes"] > 1e6, out["omit"]["loadBytes"])


def main():
    if os.environ.get("LQOS_QUICK") == "1" or os.environ.get("LQOS_TEST_PROFILE") == "quick":
        print("SKIP: browser tests (quick profile: make distcheck)")
        return 77
    missing = harness.missing_tools()
    if missing:
        print("SKIP: browser tests need %s (scripts/install-deps installs them)" % ", ".join(missing))
        return 77
    try:
        deps = harness.ensure_deps(BUILDDIR)
    except (subprocess.CalledProcessError, OSError) as e:
        print("SKIP: cannot install playwright-core from npm: %s" % e)
        return 77
    artifacts = os.path.join(BUILDDIR, "tests", "artifacts")
    os.makedirs(artifacts, exist_ok=True)
    rundir = os.path.join(BUILDDIR, "tests", "browser-run")
    shutil.rmtree(rundir, ignore_errors=True)
    port = harness.free_port()
    harness.start_apache(SRCDIR, BUILDDIR, rundir, port, [
        'sponsor_name="Example Fibre"', 'sponsor_url="https://example.net/"', 'sponsor_city="Springfield"',
        "max_tests_per_ip_per_hour=0"])
    base = "http://127.0.0.1:%d/" % port
    try:
        pool_check(base, deps)
        for mode in ("single", "household"):
            for viewport in ("desktop", "phone"):
                label = "%s/%s" % (mode, viewport)
                out = harness.run_page(deps, base + "?duration=short", mode=mode, viewport=viewport,
                                       screenshots=os.path.join(artifacts, "browser-%s-%s" % (mode, viewport)),
                                       timeout=120)
                check_run(base, label, out, mode, viewport == "phone")
                check_protocol(base, label, out, "http/1.1")
    finally:
        harness.stop_apache(SRCDIR, rundir)
    # The same page over https with HTTP/2 (issue 9): a second private
    # Apache with TLS and "Protocols h2 http/1.1", a self-signed
    # certificate that only this test's Chromium is told to accept.
    tls_rundir = os.path.join(BUILDDIR, "tests", "browser-run-h2")
    shutil.rmtree(tls_rundir, ignore_errors=True)
    tls_port = harness.free_port()
    try:
        harness.start_apache(SRCDIR, BUILDDIR, tls_rundir, tls_port, [
            'sponsor_name="Example Fibre"', "max_tests_per_ip_per_hour=0"], tls="h2")
        tls_base = "https://127.0.0.1:%d/" % tls_port
        for mode in ("single", "household"):
            label = "%s/https+h2" % mode
            out = harness.run_page(deps, tls_base + "?duration=short", mode=mode, viewport="desktop",
                                   screenshots=os.path.join(artifacts, "browser-%s-h2" % mode),
                                   timeout=120, ignore_cert=True)
            check_run(tls_base, label, out, mode, False)
            check_protocol(tls_base, label, out, "h2")
    finally:
        harness.stop_apache(SRCDIR, tls_rundir)
    failed = results.count(False)
    print("RESULT: %d passed, %d failed" % (results.count(True), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
