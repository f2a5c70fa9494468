#!/usr/bin/env python3
"""Add up the test cases run by make check and print one closing line.

Check suites print "NN%: Checks: N, Failures: F, Errors: E"; the Python
tests print "RESULT: N passed, F failed". A test program that crashed or
printed neither counts as one failure."""
import glob
import os
import re
import sys

args = [a for a in sys.argv[1:] if not a.startswith("--")]
root = args[0] if args else "."
# scripts/test says when a step failed outside the counted tests (a build
# error, make distcheck, the fuzz run): that is one more failure.
extra_failures = sum(1 for a in sys.argv[1:] if a == "--step-failed")
passed = 0
failed = extra_failures
for trs in sorted(glob.glob(os.path.join(root, "tests", "**", "*.trs"), recursive=True)):
    log = trs[:-4] + ".log"
    result = open(trs).read()
    text = open(log, errors="replace").read() if os.path.exists(log) else ""
    counted = False
    for m in re.finditer(r"Checks: (\d+), Failures: (\d+), Errors: (\d+)", text):
        n, f, e = map(int, m.groups())
        passed += n - f - e
        failed += f + e
        counted = True
    for m in re.finditer(r"^RESULT: (\d+) passed, (\d+) failed", text, re.M):
        passed += int(m.group(1))
        failed += int(m.group(2))
        counted = True
    if ":test-result: SKIP" in result:
        continue
    if ":test-result: PASS" not in result and not counted:
        failed += 1
    elif ":test-result: PASS" not in result and counted:
        failed += 0 if re.search(r"Failures: [1-9]|Errors: [1-9]|, [1-9]\d* failed", text) else 1
fuzz = os.path.join(os.path.dirname(os.path.abspath(root)), "build-fuzz", "fuzz-result.txt")
if os.path.exists(fuzz):
    m = re.search(r"RESULT: (\d+) passed, (\d+) failed", open(fuzz).read())
    if m:
        passed += int(m.group(1))
        failed += int(m.group(2))
if passed == 0:
    print("no test ran")
    print("tests: 0 passed, 1 failed")
    sys.exit(1)
print(f"tests: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
