#!/usr/bin/env bash
# Live capture on loopback (docs/performance.md, issue 9): sends UDP
# datagrams over lo at a steady rate while `wiretrace live -i lo --format
# json --segments` prints one event per datagram, and reports the packets
# the kernel captured and dropped and the latency from each packet's
# capture to its event line on stdout (median, p90, p99, max).
#
#   sudo scripts/livebench.sh                       # 100,000 per second for 5 s
#   PPS=200000 SECONDS_=10 sudo scripts/livebench.sh
#   ARGS=--segments=false sudo scripts/livebench.sh # drops only (no per-packet events)
#   RUNS=3 sudo scripts/livebench.sh                # several runs in a row
#
# Needs root (a packet socket). It reports; it asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

export WIRETRACE_LIVEBENCH=1
export WIRETRACE_LIVEBENCH_PPS=${PPS:-100000}
export WIRETRACE_LIVEBENCH_SECONDS=${SECONDS_:-5}
export WIRETRACE_LIVEBENCH_SIZE=${SIZE:-64}
export WIRETRACE_LIVEBENCH_SENDERS=${SENDERS:-2}
export WIRETRACE_LIVEBENCH_ARGS=${ARGS:-}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
go test -count "${RUNS:-1}" -run '^TestLiveBench$' -v ./cmd/wiretrace 2>&1 |
  grep -E 'livebench_test|^(--- |ok|FAIL)' | sed 's/^ *livebench_test.go:[0-9]*: //'
