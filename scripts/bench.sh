#!/usr/bin/env bash
# Benchmarks for wiretrace (docs/performance.md says how to read them).
#
#   sudo scripts/bench.sh            # everything: capture, stage benchmarks, whole runs
#   STAGES=0 sudo scripts/bench.sh   # whole runs only
#
# 1. Generates the benchmark capture the same way each time (internal/gencap
#    -bench: h2c, TLS 1.3 HTTP/2 and HTTP/3 with keys, a WebSocket, light
#    loss; SCALE=2 gives about 400,000 packets), unless it is already there.
# 2. Runs the Go benchmarks of each stage (capture read, L2-L4 decode,
#    reassembly, TLS decryption, HTTP/2, QUIC and HTTP/3, rendering).
# 3. Times whole runs, wiretrace (JSON with keys) against tshark (the same
#    per-packet fields with the same keys), RUNS times each in turn, and
#    prints medians of wall time and peak memory and their ratios.
# 4. With LONG=1, also a capture four times longer, to show that peak
#    memory follows live state rather than file size.
#
# Needs root (network namespaces) for step 1, tshark for step 3, GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

SCALE=${SCALE:-2}
RUNS=${RUNS:-3}
DIR=${BENCH_DIR:-/tmp/wiretrace-bench}
STAGES=${STAGES:-1}
LONG=${LONG:-0}

capture() { # scale -> path
  local scale=$1 dir="$DIR/scale$1"
  if [ ! -s "$dir/bench-mix.pcapng" ]; then
    echo "== generating the benchmark capture, scale $scale" >&2
    mkdir -p "$dir"
    go run ./internal/gencap -bench "$scale" -out "$dir" >&2
  fi
  echo "$dir/bench-mix.pcapng"
}

pcap=$(capture "$SCALE")
keys=${pcap%.pcapng}.keys
go build -o "$DIR/wiretrace" ./cmd/wiretrace
echo "capture: $pcap ($(du -h "$pcap" | cut -f1), $(tshark -r "$pcap" 2>/dev/null | wc -l || echo '?') packets, key log $keys)"

if [ "$STAGES" = 1 ]; then
  echo "== stage benchmarks (go test -bench, -benchmem)"
  go test -run '^$' -bench . -benchmem -count 1 \
    ./capture ./decode/netpkt ./decode/tcpflow ./decode/tlsmsg ./decode/h2 ./decode/http1 \
    ./decode/ws ./decode/quic ./decode/h3 ./timeline ./render/... 2>&1 |
    grep -E '^(Benchmark|ok|FAIL|pkg:)'
fi

wt=("$DIR/wiretrace" pcap "$pcap" --keylog "$keys" --format json)
ts=(tshark -r "$pcap" -o "tls.keylog_file:$keys" -T fields
  -e frame.number -e frame.time_epoch -e ip.src -e ip.dst -e tcp.srcport -e tcp.dstport -e udp.srcport
  -e tcp.analysis.flags -e tls.handshake.type -e tls.record.content_type -e http2.type -e http2.streamid
  -e http2.header.name -e quic.packet_number -e quic.frame_type -e http3.frame_type -e websocket.opcode)

# measure NAME CMD...: RUNS runs, prints "wall_seconds max_rss_kb" per run.
measure() {
  local out
  for _ in $(seq "$RUNS"); do
    out=$( { /usr/bin/time -f '%e %M' "$@" >/dev/null 2>/dev/null; } 2>&1 | tail -1)
    echo "$out"
  done
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

whole() { # label pcap
  echo "== whole runs ($1): $RUNS each"
  local w t
  w=$(measure "${wt[@]}")
  if command -v tshark >/dev/null; then
    t=$(measure "${ts[@]}")
  fi
  local ww wm tw tm
  ww=$(echo "$w" | awk '{print $1}' | median); wm=$(echo "$w" | awk '{print $2}' | median)
  awk -v w="$ww" -v m="$wm" 'BEGIN {printf "wiretrace  wall %8.2f s  peak RSS %8.1f MB\n", w, m/1024}'
  if [ -n "${t:-}" ]; then
    tw=$(echo "$t" | awk '{print $1}' | median); tm=$(echo "$t" | awk '{print $2}' | median)
    awk -v w="$tw" -v m="$tm" 'BEGIN {printf "tshark     wall %8.2f s  peak RSS %8.1f MB\n", w, m/1024}'
    awk -v a="$tw" -v b="$ww" -v c="$tm" -v d="$wm" 'BEGIN {printf "ratio      %.1fx faster, %.1fx less memory\n", a/b, c/d}'
  fi
}
whole "scale $SCALE"

if [ "$LONG" = 1 ]; then
  base=$(measure "$DIR/wiretrace" pcap "$(capture 1)" --keylog "$DIR/scale1/bench-mix.keys" --format json | awk '{print $2}' | median)
  long=$(measure "$DIR/wiretrace" pcap "$(capture 4)" --keylog "$DIR/scale4/bench-mix.keys" --format json | awk '{print $2}' | median)
  awk -v a="$base" -v b="$long" 'BEGIN {printf "== memory against length: scale 1 %.1f MB, scale 4 %.1f MB peak RSS (%+.0f%%)\n", a/1024, b/1024, (b-a)*100/a}'
fi
