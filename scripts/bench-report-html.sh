#!/usr/bin/env bash
# What report.html costs: the wall time of `prodsim run` with and without it (best of N
# runs each, charts off so only the page differs) and the page's size.
#
#   cargo build --release && scripts/bench-report-html.sh [SCENARIO] [N] [--duration D]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${PRODSIM:-target/release/prodsim}
scenario=${1:-scenarios/alert-fatigue.toml}
n=${2:-3}
shift $(( $# > 2 ? 2 : $# ))
out=$(mktemp -d)
best() {
  local best=
  for _ in $(seq "$n"); do
    local start=$EPOCHREALTIME
    "$bin" run "$scenario" -q --no-charts --out "$out/$1" "${@:2}" || true
    local t
    t=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
    if [ -z "$best" ] || awk -v t="$t" -v b="$best" 'BEGIN { exit !(t < b) }'; then best=$t; fi
  done
  echo "$best"
}
without=$(best without --no-html "$@")
with=$(best with "$@")
bytes=$(stat -c %s "$out/with/report.html")
awk -v w="$with" -v wo="$without" -v b="$bytes" -v s="$scenario" 'BEGIN {
  printf "%s: run %.3f s without report.html, %.3f s with (+%.1f%%); report.html %d bytes (%.2f MB)\n",
    s, wo, w, (w - wo) / wo * 100, b, b / 1e6 }'
rm -rf "$out"
