#!/usr/bin/env python3
"""Count the checks that ran, failed and were skipped; print every skip
with its reason and end with exactly "N passed, N failed, N skipped".

The protocol a test's output (automake's tests/NAME.log) follows:
    PASS: <check>                 one check passed (optional)
    FAIL: <check>[: <detail>]     one check failed
    SKIP: <check>: <reason>       one check did not run, and why
    RESULT: P passed, F failed, S skipped     last, the test's own totals
                                  (", S skipped" may be left out: 0)
A Check suite prints "NN%: Checks: N, Failures: F, Errors: E" instead;
a check in it that returned early with LQOS_SKIP_TEST (tests/testutil.h)
printed a SKIP line and is moved from passed to skipped.

How one test program is counted (its exit status from NAME.trs):
  - failures = the larger of the declared failures and the FAIL lines;
    skips = the larger of the declared skips and the SKIP lines;
    passes = the declared passes (the PASS lines when nothing declared).
  - exit 77 (skipped as a whole): its passes are not counted (the test
    said it did not run), its skips are its SKIP lines or at least 1.
  - exit status failed (1, 99, a crash) without a reported failure: 1
    failure; exit 0 with nothing reported: 1 failure (it ran no check).
  - listed (--logs) but no result: 1 failure (it did not run).
A run where nothing passed is a failure.

Usage:
  summarize-tests.py [--label L] [--logs "tests/a.log ..."] BUILDDIR ...
        each BUILDDIR is one make check run; --label and --logs apply to
        the next BUILDDIR (--logs: automake's $(TEST_LOGS), the tests
        that were meant to run; without it every tests/*.trs there)
  ... --steps DIR       also count DIR/*.txt, one file per step of
        scripts/test (clang build, fuzzing, make distcheck) in the same
        protocol; a step file with no line is a failure
  --count-suites [--logs ...] BUILDDIR   print how many Check suites ran
  --fuzz-log FILE HARNESS...   print PASS/FAIL lines for `make fuzz-smoke`
        output (harnesses run, inputs executed, from libFuzzer's
        stat::number_of_executed_units or "Done N runs")
Exit status 0 when nothing failed and something passed."""
import glob
import os
import re
import sys

RESULT_RE = re.compile(r"^RESULT: (\d+) passed, (\d+) failed(?:, (\d+) skipped)?\s*$", re.M)
CHECKS_RE = re.compile(r"\d+%: Checks: (\d+), Failures: (\d+), Errors: (\d+)")
LINE_RE = re.compile(r"^(PASS|FAIL|SKIP): ?(.*)$", re.M)


class Count:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0
        self.skips = []      # "where: reason" for every skipped check
        self.failures = []   # "where: what" (up to a few per test)
        self.notes = []
        self.suites = 0      # Check suites that ran
        self.programs = 0    # test programs with a result

    def add(self, other):
        self.passed += other.passed
        self.failed += other.failed
        self.skipped += other.skipped
        self.skips += other.skips
        self.failures += other.failures
        self.notes += other.notes
        self.suites += other.suites
        self.programs += other.programs


def count_output(name, text, status):
    """Count one test's output. status: automake's :test-result: (PASS,
    FAIL, SKIP, ERROR, XFAIL, XPASS), "STEP" for a step file of
    scripts/test, None when the test has no result."""
    c = Count()
    if status is None:
        c.failed = 1
        c.failures.append(f"{name}: no result (it did not run or did not finish)")
        return c
    lines = {"PASS": [], "FAIL": [], "SKIP": []}
    for m in LINE_RE.finditer(text):
        lines[m.group(1)].append(m.group(2).strip())
    results = RESULT_RE.findall(text)
    checks = [tuple(map(int, m)) for m in CHECKS_RE.findall(text)]
    passed = failed = skipped = 0
    if checks:
        for n, f, e in checks:
            passed += n - f - e
            failed += f + e
        # LQOS_SKIP_TEST returns early: Check counted those as passes
        moved = min(passed, len(lines["SKIP"]))
        passed -= moved
        skipped += moved
        if status != "SKIP":
            c.suites = 1
    if results:
        p, f, s = results[-1]
        passed += int(p)
        failed += int(f)
        skipped += int(s or 0)
    elif not checks:
        passed = len(lines["PASS"])
    reported = bool(results or checks or lines["PASS"] or lines["FAIL"] or lines["SKIP"])
    failed = max(failed, len(lines["FAIL"]))
    skipped = max(skipped, len(lines["SKIP"]))
    where = f"{name}: " if name else ""
    skip_reasons = [where + r for r in lines["SKIP"]]
    skip_reasons += [where + "(no reason printed)"] * (skipped - len(skip_reasons))
    fail_reasons = [where + r for r in lines["FAIL"]]
    if status == "SKIP":
        if passed:
            c.notes.append(f"{name}: exited 77 (skipped); its {passed} reported passes are not counted")
        passed = 0
        if skipped == 0:
            skipped = 1
            skip_reasons = [f"{name}: (skipped, no reason printed)"]
    elif status in ("FAIL", "ERROR", "XPASS"):
        if failed == 0:
            failed = 1
            fail_reasons.append(f"{name}: test program failed ({status}) without reporting a failed check")
    elif not reported or (status == "PASS" and passed + failed + skipped == 0):
        failed = 1
        fail_reasons.append(f"{name}: reported no check (no RESULT, Checks or PASS/FAIL/SKIP line)")
    if failed > len(fail_reasons):
        fail_reasons.append(f"{name}: {failed - len(fail_reasons)} failed (see its log)")
    c.passed, c.failed, c.skipped = passed, failed, skipped
    c.skips = skip_reasons
    c.failures = fail_reasons[:5] + ([f"{name}: ... {len(fail_reasons) - 5} more"] if len(fail_reasons) > 5 else [])
    c.programs = 1
    return c


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return None


def trs_status(trs):
    text = read(trs)
    if text is None:
        return None
    m = re.search(r"^:test-result: (\S+)", text, re.M)
    return m.group(1) if m else None


def count_builddir(root, logs=None):
    """One make check run in `root`: the tests in `logs` (paths relative
    to root, automake's TEST_LOGS) or every tests/**/*.trs found."""
    if logs is None:
        logs = sorted(os.path.relpath(t[:-4] + ".log", root)
                      for t in glob.glob(os.path.join(root, "tests", "**", "*.trs"), recursive=True))
    total = Count()
    for log in logs:
        base = log[:-4] if log.endswith(".log") else log
        status = trs_status(os.path.join(root, base + ".trs"))
        total.add(count_output(base, read(os.path.join(root, base + ".log")) or "", status))
    return total


def count_steps(folder):
    total = Count()
    for path in sorted(glob.glob(os.path.join(folder, "*.txt"))):
        text = read(path) or ""
        # a step's lines name the step; only an empty file needs its name
        total.add(count_output("" if text.strip() else "step " + os.path.basename(path)[:-4], text, "STEP"))
    return total


def step_passes(folder):
    """The steps' PASS lines and their "# " notes (e.g. the fuzz totals)."""
    out = []
    for path in sorted(glob.glob(os.path.join(folder, "*.txt"))):
        out += [m.group(1) or m.group(2) for m in re.finditer(r"^(PASS: .*)$|^# (.*)$", read(path) or "", re.M)]
    return out


def fuzz_lines(log_path, harnesses):
    """PASS/FAIL lines for each harness of `make fuzz-smoke` (its output
    in log_path: "fuzzing NAME for S s", libFuzzer's stderr, then
    "fuzz exit NAME: STATUS")."""
    text = read(log_path) or ""
    out = []
    total_inputs = ran = 0
    for h in harnesses:
        name = h.rsplit("/fuzz_", 1)[-1]
        m = re.search(rf"^fuzzing {re.escape(name)} for (\d+) s$(.*?)fuzz exit {re.escape(name)}: (\d+)$",
                      text, re.M | re.S)
        if not m:
            out.append(f"FAIL: fuzz {name}: did not run")
            continue
        part, status = m.group(2), int(m.group(3))
        units = re.findall(r"stat::number_of_executed_units: (\d+)", part) or \
            re.findall(r"^Done (\d+) runs in", part, re.M) or re.findall(r"^#(\d+)\s+DONE", part, re.M)
        inputs = int(units[-1]) if units else 0
        secs = re.findall(r"^Done \d+ runs in (\d+) second", part, re.M)
        if status == 0 and inputs > 0:
            ran += 1
            total_inputs += inputs
            out.append(f"PASS: fuzz {name}: {inputs} inputs executed" + (f" in {secs[-1]} s" if secs else ""))
        else:
            why = re.findall(r"^(==\d+==ERROR: .*|SUMMARY: .*|.*deadly signal.*)$", part, re.M)
            out.append(f"FAIL: fuzz {name}: exit {status}, {inputs} inputs executed"
                       + (f": {why[0].strip()}" if why else ""))
    out.append(f"# fuzz: {ran} of {len(harnesses)} harnesses run, {total_inputs} inputs executed")
    return out


def main(argv):
    if argv and argv[0] == "--fuzz-log":
        for line in fuzz_lines(argv[1], argv[2:]):
            print(line)
        return 0
    count_suites = False
    sections = []   # (label, root, logs)
    steps = None
    label, logs = None, None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--count-suites":
            count_suites = True
        elif a in ("--label", "--logs", "--steps"):
            if i + 1 >= len(argv):
                print(f"summarize-tests.py: {a} needs a value", file=sys.stderr)
                return 2
            v = argv[i + 1]
            i += 1
            if a == "--label":
                label = v
            elif a == "--logs":
                logs = v.split()
            else:
                steps = v
        elif a.startswith("--"):
            print(f"summarize-tests.py: unknown option {a}", file=sys.stderr)
            return 2
        else:
            sections.append((label or ("make check" if not sections else a), a, logs))
            label, logs = None, None
        i += 1
    if count_suites:
        print(sum(count_builddir(root, lg).suites for _, root, lg in sections))
        return 0
    if not sections and steps is None:
        sections = [("make check", ".", None)]
    total = Count()
    lines = []
    for lab, root, lg in sections:
        c = count_builddir(root, lg)
        lines.append(f"{lab}: {c.passed} passed, {c.failed} failed, {c.skipped} skipped "
                     f"({c.programs} test programs, {c.suites} Check suites)")
        c.skips = [f"{lab}: {s}" for s in c.skips]
        c.failures = [f"{lab}: {s}" for s in c.failures]
        total.add(c)
    if steps is not None:
        c = count_steps(steps)
        lines += step_passes(steps)
        lines.append(f"steps: {c.passed} passed, {c.failed} failed, {c.skipped} skipped")
        total.add(c)
    for n in total.notes:
        print(f"# {n}")
    for f in total.failures:
        print(f"FAIL: {f}")
    for s in total.skips:
        print(f"SKIP: {s}")
    for ln in lines:
        print(ln)
    if total.passed == 0:
        print("FAIL: nothing passed (no check ran)")
        total.failed += 1
    print(f"{total.passed} passed, {total.failed} failed, {total.skipped} skipped")
    return 1 if total.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
