#!/usr/bin/env bash
# Screenshots of correcting and removing a contact from a profile's
# timeline, and of the History tab, in English and Khmer (the edit form,
# the removal's confirmation and the History tab in each), from the real
# window under Xvfb. Installs what it needs from Debian.
# Usage: bash scripts/screenshot-corrections.sh
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
data="$target/shots-corrections"
out=assets/screenshots
rm -rf "$data"
mkdir -p "$data" "$out"
export TETHER_PASSWORD="screenshot password"
db="$data/office.db"
"$bin" demo --db "$db" --user admin --clients 300 --seed 1 >/dev/null

export DISPLAY=:93 XDG_RUNTIME_DIR="$data/xdg" LIBGL_ALWAYS_SOFTWARE=1
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
click() { xdotool mousemove "$1" "$2" click 1; sleep 1.5; }

xdotool type --delay 25 "$TETHER_PASSWORD"; xdotool key Return; sleep 4
click 94 78                                  # Clients
click 380 85; xdotool type --delay 60 "PP-0000"; sleep 2
click 230 214                                # PP-000005
click 546 182                                # Correct (second row)
snap correct-contact
xdotool key Escape; sleep 1
click 622 182                                # Remove… (second row)
snap remove-contact
click 425 434                                # Remove
click 450 159                                # History (below the notice)
snap history
click 442 43                                 # close the notice
click 230 127                                # the timeline
click 94 357                                 # Settings (a profile is open)
click 430 73; sleep 2                        # Khmer
click 94 109; sleep 2                        # back to the profile
snap profile-corrections-km
click 753 214                                # កែតម្រូវ (Correct), second row
snap correct-contact-km
xdotool key Escape; sleep 1
click 823 214                                # ដកចេញ… (Remove…), second row
snap remove-contact-km
xdotool key Escape; sleep 1
click 476 160                                # ប្រវត្តិ (History)
snap history-km
click 94 357; click 378 73                   # back to English
echo "screenshots in $out/"
