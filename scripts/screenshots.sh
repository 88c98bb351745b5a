#!/usr/bin/env bash
# Runs the real window under Xvfb (Mesa software rendering) on the demo
# database, drives it with xdotool, and saves screenshots of each screen, in
# English and Khmer, to assets/screenshots/. Installs what it needs from
# Debian. Usage: bash scripts/screenshots.sh [CLIENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
clients="${1:-100000}"
if ! command -v Xvfb >/dev/null || ! command -v xdotool >/dev/null || ! import -version 2>/dev/null | grep -q ImageMagick; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    xvfb imagemagick xdotool mesa-vulkan-drivers libgl1-mesa-dri libegl1 >/dev/null
fi
cargo build --release --locked
target="${CARGO_TARGET_DIR:-target}"
bin="$target/release/tether"
data="$target/shots"
out=assets/screenshots
mkdir -p "$data" "$out"
password="screenshot password"
db="$data/demo-$clients.db"
[ -f "$db" ] || TETHER_PASSWORD="$password" "$bin" demo --db "$db" --user admin --clients "$clients" --seed 1

export DISPLAY=:97 XDG_RUNTIME_DIR="$data/xdg" LIBGL_ALWAYS_SOFTWARE=1
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
Xvfb "$DISPLAY" -screen 0 1200x760x24 >/dev/null 2>&1 &
xvfb=$!
app=""
trap 'kill $app $xvfb 2>/dev/null || true' EXIT
sleep 1
"$bin" --db "$db" --user admin >"$data/app.log" 2>&1 &
app=$!
sleep 4
win=$(xdotool search --name '^Tether$' | head -n1)
xdotool windowfocus --sync "$win"
snap() { sleep 1; import -window root "$out/$1.png"; }
click() { xdotool mousemove "$1" "$2" click 1; sleep 1; }
type_text() { xdotool type --delay 25 "$1"; sleep 1; }
key() { xdotool key --delay 60 "$@"; sleep 1; }

snap unlock
type_text "$password"; key Return; sleep 3
snap today
click 94 78; sleep 2                       # Clients
snap clients
type_text "PP-0012"; sleep 1; key Return   # first match, contact form open
type_text "24"; key Tab; type_text "10"
snap contact
key Return                                 # saved
snap profile
# Navigation (with a profile open): Today 47, Clients 78, Profile 109,
# Dashboard 140, Reports 171, Raid 202, Import 233, Locations 264, Users 295,
# Settings 326.
click 94 140; sleep 8                      # Dashboard (computed off the UI thread)
snap dashboard
click 94 171                               # Reports: last month's report
click 241 122; sleep 6
snap reports
click 94 233                               # Import
snap import
click 94 264; sleep 2                      # Detention locations
snap locations
click 94 326; sleep 2                      # Settings, with the backups
snap settings
click 430 105; sleep 1                     # Khmer
click 94 47; sleep 2                       # Today
snap today-km
click 94 109                               # the client's profile
snap profile-km
click 94 326; click 378 105                # back to English
echo "screenshots in $out/"
