#!/usr/bin/env bash
# Screenshots of what the rules and the store now hand the window as typed
# values, said in Khmer: the sync review's conflict labels and field names
# (two laptops that generated the same demo clients on different days, so
# every shared record differs), and Today's follow-ups opened by the rules.
# From the real window under Xvfb; installs what it needs from Debian.
# Usage: bash scripts/screenshot-review-km.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v Xvfb >/dev/null || ! command -v xdotool >/dev/null || ! import -version 2>/dev/null | grep -q ImageMagick; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    xvfb imagemagick xdotool mesa-vulkan-drivers libgl1-mesa-dri libegl1 >/dev/null
fi
cargo build --release --locked
target="${CARGO_TARGET_DIR:-target}"
bin="$target/release/tether"
data="$target/shots-review"
out=assets/screenshots
rm -rf "$data"
mkdir -p "$data" "$out"
export TETHER_PASSWORD="screenshot password" TETHER_USER=admin
export TETHER_SYNC_KEY="mekong river outreach 2026"
# The same seed on both laptops gives the same record ids; a different
# last day gives different contents: each shared record is a conflict.
"$bin" demo --db "$data/office.db" --clients 4 --seed 5 --today 2026-11-25 >/dev/null
"$bin" demo --db "$data/field.db" --clients 4 --seed 5 --today 2026-11-20 >/dev/null
field=$("$bin" sync devices --db "$data/field.db" | head -n1 | cut -d' ' -f1)
key=$("$bin" sync devices --db "$data/field.db" | head -n1 | sed -E 's/.*\(([0-9a-f]+)\).*/\1/')
"$bin" sync enroll --db "$data/office.db" --device "$field" --as office --key "$key" >/dev/null
"$bin" sync export --db "$data/field.db" --out "$data/field.tether-sync" >/dev/null
"$bin" sync import --db "$data/office.db" "$data/field.tether-sync"

export DISPLAY=:97 XDG_RUNTIME_DIR="$data/xdg" LIBGL_ALWAYS_SOFTWARE=1
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
Xvfb "$DISPLAY" -screen 0 1200x760x24 >/dev/null 2>&1 &
xvfb=$!
app=""
trap 'kill $app $xvfb 2>/dev/null || true' EXIT
sleep 1
"$bin" --db "$data/office.db" --user admin >"$data/app.log" 2>&1 &
app=$!
sleep 4
win=$(xdotool search --name '^Tether$' | head -n1)
xdotool windowfocus --sync "$win"
snap() { sleep 1; import -window root "$out/$1.png"; }
click() { xdotool mousemove "$1" "$2" click 1; sleep 1; }
xdotool type --delay 25 "$TETHER_PASSWORD"; xdotool key Return; sleep 4
click 94 326; sleep 2                      # Settings (below Sync review)
click 430 73; sleep 2                      # Khmer
click 94 295; sleep 2                      # Sync review
click 260 110; sleep 1                     # the first conflict
snap sync-review-km
click 94 47; sleep 3                       # Today
snap today-rules-km
echo "screenshots in $out/"
