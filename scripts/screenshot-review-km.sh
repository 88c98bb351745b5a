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
# Imported clients take their id from their code: the same client
# imported on both laptops with different details is one record changed on
# both sides, i.e. a conflict for each.
"$bin" demo --db "$data/office.db" --clients 3000 --seed 5 >/dev/null
"$bin" demo --db "$data/field.db" --clients 3 --seed 6 >/dev/null
head='code,nickname,sex,birth_year,phone,province,key_populations,hiv_status,registered_on'
printf '%s\n%s\n%s\n%s\n' "$head" \
  'SR-0101,Sokha,male,1997,088 123 456,Phnom Penh,pwid,negative,2026-03-02' \
  'SR-0102,Dara,male,1990,,Battambang,pwud,unknown,2026-04-11' \
  'SR-0103,Srey Pov,female,2001,012 555 010,Phnom Penh,pwud;sex_worker,positive,2026-05-20' \
  >"$data/office-clients.csv"
printf '%s\n%s\n%s\n%s\n' "$head" \
  'SR-0101,Sokha,male,1998,,Phnom Penh,pwid,negative,2026-03-02' \
  'SR-0102,ដារ៉ា,male,1990,097 222 333,Battambang,pwud,negative,2026-04-11' \
  'SR-0103,Srey Pov,female,2001,012 555 010,Siem Reap,pwud;sex_worker,positive,2026-05-21' \
  >"$data/field-clients.csv"
"$bin" import --db "$data/office.db" --kind clients "$data/office-clients.csv" >/dev/null
"$bin" import --db "$data/field.db" --kind clients "$data/field-clients.csv" >/dev/null
field=$("$bin" sync devices --db "$data/field.db" | head -n1 | cut -d' ' -f1)
key=$("$bin" sync devices --db "$data/field.db" | head -n1 | sed -E 's/.*\(([0-9a-f]+)\).*/\1/')
"$bin" sync enroll --db "$data/office.db" --device "$field" --as office --key "$key" >/dev/null
"$bin" sync export --db "$data/field.db" --out "$data/field.tether-sync" >/dev/null
"$bin" sync import --db "$data/office.db" "$data/field.tether-sync" 2>/dev/null

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
for y in 99 122 145 168 191; do click 300 "$y"; done   # fold the worklists
snap today-rules-km
echo "screenshots in $out/"
