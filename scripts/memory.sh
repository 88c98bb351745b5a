#!/usr/bin/env bash
# Resident memory of the real window on the 100,000-client benchmark
# database (target/bench-data/demo-100000.db, made by `cargo bench`): logs
# in under Xvfb, lets the at-login check and backup run, visits Today,
# Clients (typing a search), Dashboard and a profile, and samples the
# process's resident memory twice a second. Prints the peak (VmHWM) and the
# resident size once the background work is done.
# Usage: bash scripts/memory.sh [DB] (a release build must exist).
set -euo pipefail
cd "$(dirname "$0")/.."
db="${1:-target/bench-data/demo-100000.db}"
password="bench password 1"
target="${CARGO_TARGET_DIR:-target}"
bin="$target/release/tether"
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 1; }
[ -f "$db" ] || { echo "no $db: run cargo bench --bench store first" >&2; exit 1; }
if ! command -v Xvfb >/dev/null || ! command -v xdotool >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    xvfb xdotool mesa-vulkan-drivers libgl1-mesa-dri libegl1 >/dev/null
fi
work=$(mktemp -d)
export DISPLAY=:96 XDG_RUNTIME_DIR="$work/xdg" LIBGL_ALWAYS_SOFTWARE=1
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
Xvfb "$DISPLAY" -screen 0 1200x760x24 >/dev/null 2>&1 &
xvfb=$!
app=""
sampler=""
trap 'kill $sampler $app $xvfb 2>/dev/null || true; rm -rf "$work"' EXIT
sleep 1
"$bin" --db "$db" --user admin >"$work/app.log" 2>&1 &
app=$!
sleep 3
win=$(xdotool search --name '^Tether$' | head -n1)
xdotool windowfocus --sync "$win"
(
  while kill -0 "$app" 2>/dev/null; do
    awk '/VmRSS/ {print $2}' "/proc/$app/status" >>"$work/rss" 2>/dev/null || true
    sleep 0.5
  done
) &
sampler=$!
xdotool type --delay 25 "$password"; xdotool key Return; sleep 8
xdotool mousemove 94 78 click 1; sleep 3                 # Clients
xdotool type --delay 120 "PP-0012"; sleep 2; xdotool key Return; sleep 3; xdotool key Escape; sleep 1   # profile, form closed
xdotool mousemove 94 140 click 1; sleep 10               # Dashboard
xdotool mousemove 94 47 click 1; sleep 5                 # Today
sleep 20                                                  # the check and backup end
peak=$(awk '/VmHWM/ {print $2}' "/proc/$app/status")
now=$(awk '/VmRSS/ {print $2}' "/proc/$app/status")
max_sampled=$(sort -n "$work/rss" | tail -n1)
awk 'NR % 4 == 1 {printf "%d ", $1/1024} END {print ""}' "$work/rss" >&2
echo "peak resident (VmHWM): $((peak / 1024)) MB; largest sample: $((max_sampled / 1024)) MB; after the background work: $((now / 1024)) MB"
grep -i "error\|panic" "$work/app.log" | head -5 || true
