#!/usr/bin/env bash
# What report.html costs: the wall time of `prodsim run` with and without it (best of N
# interleaved runs each, charts off so only the page differs) and the page's size.
#
#   cargo build --release && scripts/bench-report-html.sh [SCENARIO] [N] [--duration D]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${PRODSIM:-target/release/prodsim}
scenario=${1:-scenarios/alert-fatigue.toml}
n=${2:-3}
shift $(( $# > 2 ? 2 : $# ))
out=$(mktemp -d)
# One timed run: prints its wall seconds.
timed() {
  local start=$EPOCHREALTIME
  "$bin" run "$scenario" -q --no-charts --out "$out/$1" "${@:2}" || true
  awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'
}
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b < a) ? b : a }'; }
# Interleaved, so that the machine's speed changing affects both alike.
without= with=
for _ in $(seq "$n"); do
  without=$(min "$without" "$(timed without --no-html "$@")")
  with=$(min "$with" "$(timed with "$@")")
done
bytes=$(stat -c %s "$out/with/report.html")
awk -v w="$with" -v wo="$without" -v b="$bytes" -v s="$scenario" 'BEGIN {
  printf "%s: run %.3f s without report.html, %.3f s with (+%.1f%%); report.html %d bytes (%.2f MB)\n",
    s, wo, w, (w - wo) / wo * 100, b, b / 1e6 }'
rm -rf "$out"
