#!/usr/bin/env python3
"""A short run of bench/load in make check (issue 6): 64 connections
submitting unique results for 5 seconds (3 in the quick profile), then a
mixed run with the support API and webhook delivery. Asserts no 5xx, no
"busy", rows stored == 200 answers, every stored result delivered.

Skips (77) without wrk (Debian package wrk) or Apache. Prints
"RESULT: N passed, M failed" last (bench/load does)."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lqostest import BUILDDIR, QUICK, SRCDIR  # noqa: E402

seconds = "3" if QUICK else "5"
p = subprocess.run([sys.executable, os.path.join(SRCDIR, "bench", "load"), "--builddir", BUILDDIR,
                    "--seconds", seconds], timeout=600)
sys.exit(p.returncode)
