#!/usr/bin/env bash
# Benchmarks for wiretrace (docs/performance.md says how to read them).
#
#   sudo scripts/bench.sh            # everything: capture, stage benchmarks, whole runs
#   STAGES=0 sudo scripts/bench.sh   # whole runs only
#   STAGES=0 WHOLE=0 LONG=1 sudo scripts/bench.sh  # only the memory-against-length check
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
WHOLE=${WHOLE:-1}

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
packets() { capinfos -M -c "$1" 2>/dev/null | awk -F': *' '/Number of packets/ {print $2}' || echo '?'; }
echo "capture: $pcap ($(du -h "$pcap" | cut -f1), $(packets "$pcap") packets, key log $keys)"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"

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

# measure CMD...: RUNS runs, prints "wall_seconds max_rss_kb cpu_seconds"
# per run. GNU time writes to a file of its own (-o): the command's stdout
# and stderr are thrown away.
measure() {
  local t
  t=$(mktemp)
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -o "$t" -f '%e %M %U %S' "$@" >/dev/null 2>&1 || true
    awk '{printf "%s %s %.2f\n", $1, $2, $3+$4}' "$t"
  done
  rm -f "$t"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
col() { awk -v c="$1" '{print $c}' | median; } # median of column c

whole() { # label pcap
  echo "== whole runs ($1): $RUNS of wiretrace, then $RUNS of tshark"
  local w t
  w=$(measure "${wt[@]}")
  if command -v tshark >/dev/null; then
    t=$(measure "${ts[@]}")
  fi
  local ww wm wc tw tm tc
  ww=$(echo "$w" | col 1); wm=$(echo "$w" | col 2); wc=$(echo "$w" | col 3)
  awk -v w="$ww" -v m="$wm" -v c="$wc" 'BEGIN {printf "wiretrace  wall %8.2f s  CPU %8.2f s  peak RSS %8.1f MiB\n", w, c, m/1024}'
  if [ -n "${t:-}" ]; then
    tw=$(echo "$t" | col 1); tm=$(echo "$t" | col 2); tc=$(echo "$t" | col 3)
    awk -v w="$tw" -v m="$tm" -v c="$tc" 'BEGIN {printf "tshark     wall %8.2f s  CPU %8.2f s  peak RSS %8.1f MiB\n", w, c, m/1024}'
    awk -v a="$tw" -v b="$ww" -v c="$tm" -v d="$wm" -v e="$tc" -v f="$wc" 'BEGIN {printf "ratio      %.1fx faster, %.1fx less CPU, %.1fx less memory\n", a/b, e/f, c/d}'
  fi
}
if [ "$WHOLE" = 1 ]; then
  whole "scale $SCALE"
fi

if [ "$LONG" = 1 ]; then
  # The same mix four times longer: peak memory should follow live state
  # (connections, reassembly gaps), not the file's length.
  echo "== memory against length: scale 1 and scale 4, $RUNS runs each"
  p1=$(capture 1); p4=$(capture 4)
  r1=$(measure "$DIR/wiretrace" pcap "$p1" --keylog "${p1%.pcapng}.keys" --format json)
  r4=$(measure "$DIR/wiretrace" pcap "$p4" --keylog "${p4%.pcapng}.keys" --format json)
  echo "scale 1 ($(du -h "$p1" | cut -f1), $(packets "$p1") packets) runs (wall s, peak RSS KiB, CPU s):" $r1
  echo "scale 4 ($(du -h "$p4" | cut -f1), $(packets "$p4") packets) runs (wall s, peak RSS KiB, CPU s):" $r4
  base=$(echo "$r1" | col 2); long=$(echo "$r4" | col 2)
  awk -v a="$base" -v b="$long" 'BEGIN {printf "peak RSS: scale 1 %.1f MiB, scale 4 %.1f MiB (%+.0f%%)\n", a/1024, b/1024, (b-a)*100/a}'
  echo "(the scale 4 capture is about 1 GB: rm -r $DIR/scale4 when done)"
fi
