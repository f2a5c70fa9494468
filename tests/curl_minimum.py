#!/usr/bin/env python3
"""configure.ac's libcurl minimum must cover every libcurl option the
code uses: a build on the oldest libcurl configure accepts must compile.

The first version of each option comes from curl's
docs/libcurl/symbols-in-versions; an option not in the table fails the
test until its version is added here."""
import os
import re
import sys

SRC = os.environ.get("LQOS_SRCDIR") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FIRST_VERSION = {
    "CURLINFO_REDIRECT_URL": "7.18.2",
    "CURLINFO_RESPONSE_CODE": "7.10.8",
    "CURLINFO_RETRY_AFTER": "7.66.0",
    "CURLOPT_CONNECTTIMEOUT": "7.7",
    "CURLOPT_FOLLOWLOCATION": "7.1",
    "CURLOPT_HTTPHEADER": "7.1",
    "CURLOPT_NOSIGNAL": "7.10",
    "CURLOPT_POSTFIELDS": "7.1",
    "CURLOPT_POSTFIELDSIZE_LARGE": "7.11.1",
    "CURLOPT_PROTOCOLS": "7.19.4",
    "CURLOPT_PROTOCOLS_STR": "7.85.0",
    "CURLOPT_TIMEOUT": "7.1",
    "CURLOPT_URL": "7.1",
    "CURLOPT_USERAGENT": "7.1",
    "CURLOPT_WRITEFUNCTION": "7.1",
}


def version(text):
    return tuple(int(x) for x in text.split("."))


def main():
    with open(os.path.join(SRC, "configure.ac")) as f:
        m = re.search(r"libcurl\s*>=\s*([0-9.]+)", f.read())
    if not m:
        print("configure.ac: no libcurl >= VERSION check")
        print("RESULT: 0 passed, 1 failed")
        return 1
    minimum = m.group(1)
    used = {}
    for top in ("libcommon", "sbin", "cgi-bin"):
        for root, _, files in os.walk(os.path.join(SRC, top)):
            for name in files:
                if name.endswith((".c", ".h")):
                    path = os.path.join(root, name)
                    with open(path) as f:
                        for sym in re.findall(r"\bCURL(?:OPT|INFO)_[A-Z_]+\b", f.read()):
                            used.setdefault(sym, os.path.relpath(path, SRC))
    passed = failed = 0
    for sym, where in sorted(used.items()):
        first = FIRST_VERSION.get(sym)
        if first is None:
            print(f"{sym} ({where}): add its first libcurl version to {__file__}")
            failed += 1
        elif version(first) > version(minimum):
            print(f"{sym} ({where}) needs libcurl {first}; configure.ac accepts {minimum}")
            failed += 1
        else:
            passed += 1
    print(f"libcurl minimum {minimum}, {len(used)} options checked")
    print(f"RESULT: {passed} passed, {failed} failed")
    return 1 if failed or not used else 0


if __name__ == "__main__":
    sys.exit(main())
