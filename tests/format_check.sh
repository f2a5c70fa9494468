#!/bin/sh
# Every C file must be as clang-format (.clang-format at the top) writes
# it. Skips (77) where clang-format is not installed.
srcdir=${LQOS_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
command -v clang-format >/dev/null 2>&1 || { echo "SKIP: clang-format not installed"; exit 77; }
cd "$srcdir" || exit 1
bad=0
checked=0
for f in libcommon/*.c libcommon/*.h cgi-bin/*.c sbin/*.c bench/*.c tests/*.c tests/*.h tests/fuzz/*.c; do
	[ -f "$f" ] || continue
	checked=$((checked + 1))
	if ! clang-format --style=file "$f" | cmp -s - "$f"; then
		echo "not formatted: $f (run: clang-format -i $f)"
		bad=$((bad + 1))
	fi
done
echo "RESULT: $((checked - bad)) passed, $bad failed"
[ "$bad" = 0 ]
