#!/usr/bin/env bash
# Runs the real window under Xvfb (Mesa software rendering) on the demo
# database and saves screenshots to assets/screenshots/. Installs what it
# needs from Debian. Usage: bash scripts/screenshots.sh [CLIENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
clients="${1:-100000}"
if ! command -v Xvfb >/dev/null || ! command -v xdotool >/dev/null || ! import -version 2>/dev/null | grep -q ImageMagick; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends xvfb imagemagick xdotool mesa-vulkan-drivers libgl1-mesa-dri libegl1 >/dev/null
fi
cargo build --release --locked
bin="${CARGO_TARGET_DIR:-target}/release/tether"
data="${CARGO_TARGET_DIR:-target}/shots"
mkdir -p "$data" assets/screenshots
export TETHER_PASSWORD="screenshot password"
db="$data/demo-$clients.db"
[ -f "$db" ] || "$bin" demo --db "$db" --user admin --clients "$clients" --seed 1

export DISPLAY=:97 XDG_RUNTIME_DIR="$data/xdg" LIBGL_ALWAYS_SOFTWARE=1
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
Xvfb "$DISPLAY" -screen 0 1280x800x24 >/dev/null 2>&1 &
xvfb=$!
trap 'kill $app $xvfb 2>/dev/null || true' EXIT
sleep 1
env -u TETHER_PASSWORD "$bin" --db "$db" --user admin >"$data/app.log" 2>&1 &
app=$!
sleep 4
win=$(xdotool search --name '^Tether$' | head -n1)
xdotool windowactivate --sync "$win" 2>/dev/null || true
import -window root assets/screenshots/unlock.png
# Focus the password field (the last text field) and unlock.
xdotool key --window "$win" Tab Tab Tab Tab Tab
xdotool type --window "$win" --delay 20 "$TETHER_PASSWORD"
xdotool key --window "$win" Return
sleep 3
import -window root assets/screenshots/unlocked.png
echo "screenshots in assets/screenshots/"
