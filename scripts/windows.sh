#!/usr/bin/env bash
# Builds Tether for Windows on this Linux machine, and checks it under Wine.
#
#   bash scripts/windows.sh           dist/Tether-Setup-<version>.exe (NSIS, per user,
#                                     no admin rights) and dist/Tether-<version>-portable.zip
#   bash scripts/windows.sh --check   the same, then runs the Windows tether.exe under
#                                     Wine: init, demo, check, worklist, report (JSON, XLSX),
#                                     export, backup, restore, sync export/enroll/import, on
#                                     paths with Khmer letters and spaces; compares the
#                                     report with the Linux build's for the same seed; and
#                                     screenshots the window under Wine + Xvfb
#                                     (assets/screenshots/windows-*.png)
#
# Installs what it needs (the rustup target; Debian's mingw-w64, nsis, zip and,
# for --check, wine64, Xvfb, xdotool, ImageMagick). Cross build: about 12 minutes
# on 2 cores from clean, in $CARGO_TARGET_DIR (default ~/.cache/tether-windows).
#
# Wine 8 lacks bcryptprimitives.dll, whose ProcessPrng Rust's standard library
# calls for random numbers; --check builds a small stand-in that forwards to
# RtlGenRandom and puts it beside the exe in its own test folder only. It is
# never in dist/, the installer or the zip: Windows 10 and 11 have the real one.
set -euo pipefail
cd "$(dirname "$0")/.."
check=false
[[ "${1:-}" == "--check" ]] && check=true

packages=(mingw-w64 nsis zip)
$check && packages+=(wine64 xvfb xdotool imagemagick)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
target=x86_64-pc-windows-gnu
rustup target list --installed | grep -qx "$target" || rustup target add "$target"

export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tether-windows}"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
start=$(date +%s)
cargo build --release --locked --target "$target" --bins
echo "cross build: $(($(date +%s) - start)) s"
built="$CARGO_TARGET_DIR/$target/release"

# What ships: the two programs (stripped), the icon, the first steps, the licence.
stage="dist/Tether-$version"
rm -rf "$stage" "dist/Tether-Setup-$version.exe" "dist/Tether-$version-portable.zip"
mkdir -p "$stage"
for exe in tether tether-window; do
  x86_64-w64-mingw32-strip -o "$stage/$exe.exe" "$built/$exe.exe"
done
cp assets/windows/tether.ico "$stage/"
sed 's/$/\r/' packaging/windows/README-Windows.txt >"$stage/README-Windows.txt"
sed 's/$/\r/' LICENSE >"$stage/LICENSE.txt"
makensis -V2 -DVERSION="$version" -DSTAGE="$(pwd)/$stage" \
  -DOUTFILE="$(pwd)/dist/Tether-Setup-$version.exe" packaging/windows/tether.nsi
(cd dist && zip -qr "Tether-$version-portable.zip" "Tether-$version")
ls -l "dist/Tether-Setup-$version.exe" "dist/Tether-$version-portable.zip" "$stage"/*.exe
$check || exit 0

# ---- --check: the Windows program under Wine ---------------------------------
work="$CARGO_TARGET_DIR/wine-check"
rm -rf "$work"
mkdir -p "$work/bin"
cp "$stage/tether.exe" "$stage/tether-window.exe" "$work/bin/"
cat >"$work/shim.c" <<'C'
/* Test only: Wine 8 has no bcryptprimitives.dll. */
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
  while (length > 0) {
    ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
    if (!SystemFunction036(data, chunk)) return FALSE;
    data += chunk;
    length -= chunk;
  }
  return TRUE;
}
C
x86_64-w64-mingw32-gcc -shared -O2 -o "$work/bin/bcryptprimitives.dll" "$work/shim.c" -ladvapi32

export WINEPREFIX="$work/prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
wineboot -i >/dev/null 2>&1 || true
export TETHER_PASSWORD="windows check password" TETHER_USER=admin
export TETHER_SYNC_KEY="mekong river outreach 2026"
win() { wine "$work/bin/tether.exe" "$@"; }
winpath() { winepath -w "$1" 2>/dev/null; }
# A folder with Khmer letters and spaces, given to the program as a Windows path.
data="$work/ឯកសារ my data"
mkdir -p "$data"
W=$(winpath "$data")
fail() { echo "windows check FAILED: $*" >&2; exit 1; }
step() { echo "== $*"; }
seed=7 day=2026-11-01
step init;      win init --db "$W\\ការងារ.db" --admin admin >/dev/null
step demo;      win demo --db "$W\\ការងារ.db" --clients 2000 --seed $seed --today $day >/dev/null
step check;     win check --db "$W\\ការងារ.db"
step worklist;  win worklist --db "$W\\ការងារ.db" --day $day --out "$W\\worklist.csv"
step report;    win report --db "$W\\ការងារ.db" --from 2026-01-01 --to 2026-10-31 --out "$W\\report.json"
                win report --db "$W\\ការងារ.db" --from 2026-01-01 --to 2026-10-31 --out "$W\\report.xlsx"
step export;    win export --db "$W\\ការងារ.db" --out "$W\\clients list.csv"
mkdir -p "$data/backups"
step backup;    win backup --db "$W\\ការងារ.db" --out "$W\\backups\\copy.db"
step restore;   win restore --db "$W\\ការងារ.db" --from "$W\\backups\\copy.db"
step check;     win check --db "$W\\ការងារ.db"
step sync;      win sync export --db "$W\\ការងារ.db" --out "$W\\office.tether-sync"
                win init --db "$W\\field.db" --admin admin >/dev/null
devices=$(win sync devices --db "$W\\ការងារ.db" | tr -d '\r' | head -n1)
office=${devices%% *}
key=$(sed -E 's/.*\(([0-9a-f]+)\).*/\1/' <<<"$devices")
                win sync enroll --db "$W\\field.db" --device "$office" --as office --key "$key"
                win sync import --db "$W\\field.db" "$W\\office.tether-sync"
                win report --db "$W\\field.db" --from 2026-01-01 --to 2026-10-31 --out "$W\\field report.json"
for f in worklist.csv report.json report.xlsx "clients list.csv" backups/copy.db office.tether-sync "field report.json"; do
  [[ -s "$data/$f" ]] || fail "$f was not written"
done

step "the Linux build, same seed"
linux="$work/linux"
mkdir -p "$linux"
cargo build --release --locked --bin tether
host="$CARGO_TARGET_DIR/release/tether"
"$host" init --db "$linux/t.db" --admin admin >/dev/null
"$host" demo --db "$linux/t.db" --clients 2000 --seed $seed --today $day >/dev/null
"$host" report --db "$linux/t.db" --from 2026-01-01 --to 2026-10-31 --out "$linux/report.json" >/dev/null
"$host" worklist --db "$linux/t.db" --day $day --out "$linux/worklist.csv" >/dev/null
"$host" export --db "$linux/t.db" --out "$linux/clients list.csv" >/dev/null
# The files a coordinator opens elsewhere are byte for byte the same
# (line endings included) on both systems.
for f in worklist.csv "clients list.csv"; do
  cmp -s "$data/$f" "$linux/$f" || fail "$f differs between Windows and Linux"
done
# made_at and device_id say when and where: everything else must be equal.
same() {
  python3 - "$1" "$2" <<'PY'
import json, sys
a, b = (json.load(open(p, encoding="utf-8")) for p in sys.argv[1:3])
for r in (a, b):
    r.pop("made_at", None); r.pop("device_id", None)
sys.exit(0 if a == b else 1)
PY
}
same "$data/report.json" "$linux/report.json" || fail "the Windows report differs from the Linux one"
same "$data/report.json" "$data/field report.json" || fail "the synced laptop's report differs"
"$host" check --db "$data/ការងារ.db" >/dev/null || fail "the Linux build cannot open the Windows database"
echo "reports: Windows = Linux = synced laptop"

step "the window under Wine + Xvfb"
export DISPLAY=:93
Xvfb "$DISPLAY" -screen 0 1200x760x24 >/dev/null 2>&1 &
xvfb=$!
app=""
trap 'kill $app $xvfb 2>/dev/null || true; wineserver -k 2>/dev/null || true' EXIT
sleep 1
out=assets/screenshots
mkdir -p "$out"
wine "$work/bin/tether.exe" --db "$W\\ការងារ.db" --user admin >"$work/window.log" 2>&1 &
app=$!
win_id=""
for _ in $(seq 60); do
  win_id=$(xdotool search --name '^Tether$' 2>/dev/null | head -n1 || true)
  [[ -n "$win_id" ]] && break
  sleep 1
done
[[ -n "$win_id" ]] || fail "the window did not open under Wine (see $work/window.log)"
sleep 4
snap() { sleep 1; import -window root "$out/$1.png"; }
# Without a window manager, Wine places its window 4 pixels right and 23
# down (the bar above it is Wine's): the same spots as on Linux, shifted.
click() { xdotool mousemove $(($1 + 4)) $(($2 + 23)) click 1; sleep 1; }
xdotool windowfocus --sync "$win_id" || true
snap windows-unlock
xdotool type --delay 40 "$TETHER_PASSWORD"; xdotool key Return; sleep 8
snap windows-today
click 94 326; sleep 2                      # Settings
click 430 73; sleep 3                      # Khmer
click 94 47; sleep 4                       # Today
snap windows-today-km
click 94 326; sleep 2                      # Settings
click 430 73; sleep 2                      # back to English for the next run
echo "windows check passed; screenshots in $out/windows-*.png"
