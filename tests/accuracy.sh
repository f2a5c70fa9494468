#!/bin/sh
# The accuracy harness (bench/accuracy) on the 50 Mbit/s pair: a bloated
# link (300 ms queue) and a lean one (5 ms), both test modes, at a base
# round trip of 20 ms (bench/lqos-delayline, a TUN delay line in the
# router namespace), a typical distance from a customer to a test server.
# Every target is counted: throughput, latency against ping, the grades of
# both modes, each household user and the household score (issue 13).
# Needs root, network namespaces, tc tbf and /dev/net/tun; skips (77) with
# the reason otherwise. About 5 minutes (a run that misses a target is
# repeated once). The other base round trips (0, 60, 200 ms), the
# unshaped path and 500 Mbit/s are the full matrix in bench/README.md.
if [ "${LQOS_QUICK:-0}" = 1 ] || [ "${LQOS_TEST_PROFILE:-}" = quick ]; then
	echo "SKIP: accuracy harness (quick profile)"
	exit 77
fi
srcdir=${LQOS_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${LQOS_BUILDDIR:-$srcdir}
case "$builddir" in
*/_build/sub)
	# make distcheck: the same harness already ran on the source tree.
	echo "SKIP: accuracy harness (not repeated inside make distcheck)"
	exit 77
	;;
esac
mkdir -p "$builddir/tests/artifacts"
exec "${PYTHON3:-python3}" "$srcdir/bench/accuracy" --links 50:300,50:5 --modes single,household --rtt 20 \
	--retries 1 \
	--builddir "$builddir" --screenshots "$builddir/tests/artifacts" \
	--json "$builddir/tests/artifacts/accuracy.json"
