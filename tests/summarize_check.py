#!/usr/bin/env python3
"""scripts/summarize-tests.py on fabricated make check folders: what it
counts as passed, failed and skipped, and when it fails the run.

Each case writes tests/NAME.log and tests/NAME.trs the way automake's
test driver does, runs the script, and compares its closing line
"N passed, N failed, N skipped", the SKIP/FAIL lines and its exit status.
Also: the step files of scripts/test, --count-suites, the fuzz log reader,
and tests/lqostest.py's own output read back by the script.

Prints "RESULT: N passed, M failed, S skipped" last."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lqostest as lq  # noqa: E402
from lqostest import check  # noqa: E402

SCRIPT = os.path.join(lq.SRCDIR, "scripts", "summarize-tests.py")
STATUS = {0: "PASS", 1: "FAIL", 77: "SKIP", 99: "ERROR"}


def write_test(root, name, output, exit_status):
    """tests/NAME.log and .trs as build-aux/test-driver writes them."""
    os.makedirs(os.path.join(root, "tests"), exist_ok=True)
    res = STATUS[exit_status]
    with open(os.path.join(root, "tests", name + ".log"), "w") as f:
        f.write(output + f"\n{res} tests/{name} (exit status: {exit_status})\n")
    with open(os.path.join(root, "tests", name + ".trs"), "w") as f:
        f.write(f":test-result: {res}\n:global-test-result: {res}\n:recheck: no\n:copy-in-global-log: no\n")


def summarize(*args):
    p = subprocess.run([sys.executable, SCRIPT, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=60)
    return p.returncode, p.stdout


def case(label, tests, want, want_rc, want_lines=(), logs=None, extra=()):
    """tests: {name: (output, exit status)}; want: (passed, failed, skipped)."""
    with tempfile.TemporaryDirectory(prefix="lqos-summarize.") as root:
        for name, (output, status) in tests.items():
            write_test(root, name, output, status)
        args = (["--logs", " ".join(logs)] if logs is not None else []) + [root] + list(extra)
        rc, out = summarize(*args)
    lines = out.splitlines()
    closing = "%d passed, %d failed, %d skipped" % want
    check(f"{label}: closing line is '{closing}'", lines and lines[-1] == closing, out)
    check(f"{label}: exit status {want_rc}", rc == want_rc, f"{rc}\n{out}")
    for w in want_lines:
        check(f"{label}: prints '{w}'", any(w in ln for ln in lines), out)
    return out


def main():
    ok_py = "PASS: a\nPASS: b\nRESULT: 2 passed, 0 failed, 0 skipped"
    # A test that printed counts and then exited 77: nothing it did counts
    # as passed (the old script added its 5 passes).
    case("skipped test with counts", {
        "ok": (ok_py, 0),
        "skipped": ("RESULT: 5 passed, 0 failed\nSKIP: apache2 not installed\n"
                    "RESULT: 5 passed, 0 failed", 77),
    }, (2, 0, 1), 0, ["SKIP: make check: tests/skipped: apache2 not installed"])
    # Exit 77 without any SKIP line is still one skip, with a note.
    case("skip without reason", {"ok": (ok_py, 0), "bare": ("RESULT: 0 passed, 0 failed", 77)},
         (2, 0, 1), 0, ["tests/bare: (skipped, no reason printed)"])
    # Partial skips: declared in the RESULT line, each with its reason.
    out = case("partial skips", {
        "faults": ("PASS: x\nSKIP: disk full: needs root (a 2 MiB tmpfs)\nPASS: y\n"
                   "SKIP: read-only mount: needs root\nPASS: z\nRESULT: 3 passed, 0 failed, 2 skipped", 0),
    }, (3, 0, 2), 0, ["SKIP: make check: tests/faults: disk full: needs root (a 2 MiB tmpfs)",
                      "SKIP: make check: tests/faults: read-only mount: needs root",
                      "make check: 3 passed, 0 failed, 2 skipped"])
    check("partial skips: each skip printed once", out.count("SKIP:") == 2, out)
    # An old-style test: a SKIP line it did not count in its RESULT line.
    case("uncounted SKIP line", {"old": ("SKIP: promtool not installed\nRESULT: 4 passed, 0 failed", 0)},
         (4, 0, 1), 0, ["tests/old: promtool not installed"])
    # Failures: declared, FAIL lines beyond the declared count, a crash.
    case("failure", {
        "ok": (ok_py, 0),
        "bad": ("PASS: a\nFAIL: b: wanted 503, got 200\nPASS: c\nRESULT: 2 passed, 1 failed, 0 skipped", 1),
    }, (4, 1, 0), 1, ["FAIL: make check: tests/bad: b: wanted 503, got 200"])
    case("FAIL lines beyond RESULT", {"liar": ("FAIL: one\nFAIL: two\nRESULT: 3 passed, 0 failed", 0)},
         (3, 2, 0), 1, ["tests/liar: two"])
    case("crash without output", {"ok": (ok_py, 0), "crash": ("Segmentation fault", 1)},
         (2, 1, 0), 1, ["tests/crash: test program failed (FAIL)"])
    case("hard error (99)", {"ok": (ok_py, 0), "err": ("RESULT: 3 passed, 0 failed", 99)},
         (5, 1, 0), 1, ["tests/err: test program failed (ERROR)"])
    case("exit 0 without any count", {"ok": (ok_py, 0), "silent": ("hello", 0)},
         (2, 1, 0), 1, ["tests/silent: reported no check"])
    case("exit 0 with zero checks", {"ok": (ok_py, 0), "empty": ("RESULT: 0 passed, 0 failed, 0 skipped", 0)},
         (2, 1, 0), 1, ["tests/empty: reported no check"])
    # Check suites: their own line; LQOS_SKIP_TEST moves a pass to skipped.
    case("Check suites", {
        "check_a": ("Running suite(s): a\nSKIP: unreadable_file_fn: root reads any file\n"
                    "100%: Checks: 10, Failures: 0, Errors: 0", 0),
        "check_b": ("Running suite(s): b\nb.c:12:F:core:t1:0: Assertion 'x' failed\n"
                    "60%: Checks: 5, Failures: 1, Errors: 1", 1),
    }, (12, 2, 1), 1, ["tests/check_a: unreadable_file_fn: root reads any file", "2 Check suites"])
    # Only the listed tests count: a stale result is ignored, a listed test
    # without a result (make check stopped before it) is a failure.
    case("listed logs", {"ok": (ok_py, 0), "stale": ("RESULT: 100 passed, 0 failed", 0)},
         (2, 1, 0), 1, ["tests/never: no result"], logs=["tests/ok.log", "tests/never.log"])
    # Nothing ran: all skipped, or nothing listed.
    case("everything skipped", {"s": ("SKIP: quick profile", 77)}, (0, 1, 1), 1, ["nothing passed"])
    case("nothing listed", {"ok": (ok_py, 0)}, (0, 1, 0), 1, ["nothing passed"], logs=[])

    # scripts/test's steps: a PASS, a skip with its reason, a failure, and
    # a step file with no line (a step that died before writing).
    with tempfile.TemporaryDirectory(prefix="lqos-summarize.") as d:
        steps = os.path.join(d, "steps")
        os.makedirs(steps)
        for name, text in (("clang", "PASS: clang -Werror build\n"),
                           ("fuzz", "SKIP: fuzz smoke: clang not installed\n"),
                           ("distcheck", "PASS: make distcheck (quick profile)\n")):
            with open(os.path.join(steps, name + ".txt"), "w") as f:
                f.write(text)
        write_test(d, "ok", ok_py, 0)
        rc, out = summarize(d, "--steps", steps)
        check("steps: passes, skips and tests add up", out.splitlines()[-1] == "4 passed, 0 failed, 1 skipped"
              and rc == 0, out)
        check("steps: each step printed", "PASS: clang -Werror build" in out
              and "SKIP: fuzz smoke: clang not installed" in out, out)
        with open(os.path.join(steps, "sanitizers.txt"), "w") as f:
            f.write("FAIL: sanitizer run ran 1 Check suites, make check ran 9\n")
        open(os.path.join(steps, "empty.txt"), "w").close()
        rc, out = summarize(d, "--steps", steps)
        check("steps: a failed and an empty step are 2 failures",
              out.splitlines()[-1] == "4 passed, 2 failed, 1 skipped" and rc == 1, out)

    # --count-suites: Check suites that ran (not skipped ones, not Python).
    with tempfile.TemporaryDirectory(prefix="lqos-summarize.") as d:
        write_test(d, "check_a", "100%: Checks: 3, Failures: 0, Errors: 0", 0)
        write_test(d, "check_b", "50%: Checks: 2, Failures: 1, Errors: 0", 1)
        write_test(d, "cgi_blackbox", ok_py, 0)
        rc, out = summarize("--count-suites", d)
        check("count-suites: 2", out.strip() == "2", out)
        rc, out = summarize("--count-suites", "--logs", "tests/check_a.log tests/cgi_blackbox.log", d)
        check("count-suites: only the listed ones", out.strip() == "1", out)

    # The fuzz log: inputs executed per harness; a crash; one that never ran.
    with tempfile.TemporaryDirectory(prefix="lqos-summarize.") as d:
        log = os.path.join(d, "fuzz.log")
        with open(log, "w") as f:
            f.write("fuzzing ip for 15 s\nINFO: Seed: 1\n#2\tINITED cov: 10\n#81234\tDONE   cov: 99 ft: 1\n"
                    "Done 81234 runs in 15 second(s)\nstat::number_of_executed_units: 81234\nfuzz exit ip: 0\n"
                    "fuzzing query for 15 s\n#12\tNEW cov: 3\n==7==ERROR: AddressSanitizer: heap-buffer-overflow\n"
                    "stat::number_of_executed_units: 12\nfuzz exit query: 1\n")
        rc, out = summarize("--fuzz-log", log, "tests/fuzz/fuzz_ip", "tests/fuzz/fuzz_query",
                            "tests/fuzz/fuzz_config")
        check("fuzz: inputs executed per harness",
              "PASS: fuzz ip: 81234 inputs executed in 15 s" in out, out)
        check("fuzz: a crash is a failure with its reason",
              "FAIL: fuzz query: exit 1, 12 inputs executed: ==7==ERROR: AddressSanitizer" in out, out)
        check("fuzz: a harness that did not run is a failure", "FAIL: fuzz config: did not run" in out, out)
        check("fuzz: totals", "# fuzz: 1 of 3 harnesses run, 81234 inputs executed" in out, out)

    # tests/lqostest.py's output, read back: a pass, a partial skip, and a
    # test that skips as a whole after a check.
    with tempfile.TemporaryDirectory(prefix="lqos-summarize.") as d:
        prog = ("import sys; sys.path.insert(0, %r); import lqostest as lq\n" % os.path.dirname(lq.__file__))
        runs = {
            "part": prog + "lq.check('one', True); lq.skip_check('disk full', 'needs root'); sys.exit(lq.finish())",
            "whole": prog + "lq.check('one', True); sys.exit(lq.skip('apache2 not installed'))",
            "allskip": prog + "lq.skip_check('only', 'not here'); sys.exit(lq.finish())",
            "nothing": prog + "sys.exit(lq.finish())",
        }
        rcs = {}
        for name, code in runs.items():
            p = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, timeout=60)
            rcs[name] = p.returncode
            write_test(d, name, p.stdout, p.returncode)
        check("lqostest: exit statuses (0, 77, 77 when all skipped, 1 when nothing ran)",
              rcs == {"part": 0, "whole": 77, "allskip": 77, "nothing": 1}, rcs)
        rc, out = summarize(d)
        check("lqostest: counted 1 passed, 1 failed, 3 skipped",
              out.splitlines()[-1] == "1 passed, 1 failed, 3 skipped", out)
        check("lqostest: reasons printed", "tests/part: disk full: needs root" in out
              and "tests/whole: apache2 not installed" in out and "tests/allskip: only: not here" in out, out)
    return lq.finish()


if __name__ == "__main__":
    sys.exit(main())
