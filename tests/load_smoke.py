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

SRCDIR = os.path.abspath(os.environ.get("LQOS_SRCDIR", os.path.join(os.path.dirname(__file__), "..")))
BUILDDIR = os.path.abspath(os.environ.get("LQOS_BUILDDIR", SRCDIR))
seconds = "3" if os.environ.get("LQOS_TEST_PROFILE") == "quick" else "5"
p = subprocess.run([sys.executable, os.path.join(SRCDIR, "bench", "load"), "--builddir", BUILDDIR,
                    "--seconds", seconds], timeout=600)
sys.exit(p.returncode)
