#!/usr/bin/env bash
# Screenshots of Settings → Sync with the laptops list (one enrolled as the
# office, one not yet enrolled after its bundle was refused), in English
# and Khmer, and the unlock screen's recovery path, from the real window
# under Xvfb. Installs what it needs from
# Debian. Usage: bash scripts/screenshot-sync.sh
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
data="$target/shots-sync"
out=assets/screenshots
rm -rf "$data"
mkdir -p "$data/folder" "$out"
export TETHER_PASSWORD="screenshot password" TETHER_USER=admin
export TETHER_SYNC_KEY="mekong river outreach 2026"
db="$data/office.db"
"$bin" demo --db "$db" --clients 2000 --seed 1 >/dev/null
"$bin" demo --db "$data/field1.db" --clients 20 --seed 2 >/dev/null
"$bin" demo --db "$data/field2.db" --clients 20 --seed 3 >/dev/null
for f in field1 field2; do
  "$bin" sync export --db "$data/$f.db" --out "$data/$f.tether-sync" >/dev/null
  "$bin" sync import --db "$db" "$data/$f.tether-sync" 2>/dev/null || true
done
field1=$("$bin" sync devices --db "$data/field1.db" | head -n1 | cut -d' ' -f1)
"$bin" sync enroll --db "$db" --device "$field1" --as office >/dev/null
"$bin" sync import --db "$db" "$data/field1.tether-sync" >/dev/null 2>&1 || true
# A new field laptop for Ou Sokha, through the folder: each laptop enrolls
# the other, the office chooses its clients, two rounds.
field3="$data/field3.db"
"$bin" init --db "$field3" --admin admin >/dev/null
"$bin" sync folder --db "$field3" "$data/folder" >/dev/null 2>&1 || true
"$bin" sync folder --db "$db" "$data/folder" >/dev/null 2>&1 || true
"$bin" sync folder --db "$field3" "$data/folder" >/dev/null 2>&1 || true
f3=$("$bin" sync devices --db "$field3" | head -n1 | cut -d' ' -f1)
office=$("$bin" sync devices --db "$db" | head -n1 | cut -d' ' -f1)
"$bin" sync enroll --db "$db" --device "$f3" --as member >/dev/null
"$bin" sync scope --db "$db" --device "$f3" --workers sokha.ou >/dev/null
"$bin" sync enroll --db "$field3" --device "$office" --as office >/dev/null
for _ in 1 2; do
  "$bin" sync folder --db "$db" "$data/folder" >/dev/null 2>&1 || true
  "$bin" sync folder --db "$field3" "$data/folder" >/dev/null 2>&1 || true
done
"$bin" sync folder --db "$db" "$data/folder" >/dev/null 2>&1 || true
"$bin" sync devices --db "$db"
"$bin" sync devices --db "$field3"

export DISPLAY=:98 XDG_RUNTIME_DIR="$data/xdg" LIBGL_ALWAYS_SOFTWARE=1
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
Xvfb "$DISPLAY" -screen 0 1200x900x24 >/dev/null 2>&1 &
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
key() { xdotool key --delay 60 "$@"; sleep 1; }
xdotool type --delay 25 "$TETHER_PASSWORD"; key Return; sleep 3
click 94 326; sleep 2                      # Settings (below Sync review, shown for the duplicates)
xdotool mousemove 700 600
for _ in $(seq 1 40); do xdotool click 5; done   # scroll to the sync section
sleep 1
snap settings-laptops
xdotool mousemove 700 300
for _ in $(seq 1 60); do xdotool click --delay 30 4; done   # back to the top
sleep 1
click 430 73; sleep 1                      # Khmer
xdotool mousemove 700 600
for _ in $(seq 1 40); do xdotool click --delay 30 5; done
sleep 1
snap settings-laptops-km
xdotool mousemove 700 300
for _ in $(seq 1 60); do xdotool click --delay 30 4; done
click 430 73; sleep 1                      # back to English

# The unlock screen's recovery path: in Khmer after locking this (Khmer)
# session, then in English in a new window.
key ctrl+l; sleep 2
click 100 226; sleep 1                     # "Forgot password or lost key file?"
click 300 175; xdotool type --delay 25 "ABCD-EFGH"; sleep 1
snap unlock-recover-km
kill $app; sleep 1
"$bin" --db "$db" --user admin >>"$data/app.log" 2>&1 &
app=$!
sleep 4
win=$(xdotool search --name '^Tether$' | head -n1)
xdotool windowfocus --sync "$win"
click 100 226; sleep 1
click 300 175; xdotool type --delay 25 "ABCD-EFGH"; sleep 1
snap unlock-recover
# The field laptop's own Settings: what it holds, and the office.
kill $app; sleep 1
"$bin" --db "$field3" --user admin >>"$data/app.log" 2>&1 &
app=$!
sleep 4
win=$(xdotool search --name '^Tether$' | head -n1)
xdotool windowfocus --sync "$win"
xdotool type --delay 25 "$TETHER_PASSWORD"; key Return; sleep 3
click 94 326; sleep 2                      # Settings
xdotool mousemove 700 600
for _ in $(seq 1 40); do xdotool click 5; done
sleep 1
snap settings-field-scope
echo "screenshots in $out/"
