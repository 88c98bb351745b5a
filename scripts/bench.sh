#!/usr/bin/env bash
# Regenerates every figure of the README's Performance section on freshly
# generated data, so that an index or query added for one feature cannot
# silently slow another: deletes target/bench-data (the 100,000- and
# 10,000-client demo databases, the import's CSV files), builds once in
# release mode, runs every benchmark and the memory script, and prints a
# summary of the medians. Everything it prints is also in
# target/bench-data/bench.log; the ratio table in target/bench-data/ratio.md.
#
# Usage: bash scripts/bench.sh        (about 25 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tether-release}"
rm -rf target/bench-data
mkdir -p target/bench-data
log=target/bench-data/bench.log
cargo build --release --quiet
cargo bench --no-run --quiet 2>/dev/null
rm -rf "$CARGO_TARGET_DIR/criterion"
{
  echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(git rev-parse --short HEAD)"
  # The store bench generates the 100,000-client demo first (wall clock printed).
  for bench in store frames reports sync scoped import ratio; do
    echo "## cargo bench --bench $bench"
    cargo bench --quiet --bench "$bench" 2>&1 | grep -v '^\s*$' |
      grep -Ev '^(Benchmarking|Found|  [0-9]+ \(|Gnuplot|WARNING)' || true
  done
  echo "## scripts/memory.sh"
  bash scripts/memory.sh
} 2>&1 | tee "$log"

echo
echo "## Criterion medians"
find "$CARGO_TARGET_DIR/criterion" -path '*/new/estimates.json' | sort | while read -r f; do
  name=${f#"$CARGO_TARGET_DIR"/criterion/}
  name=${name%/new/estimates.json}
  ns=$(sed -E 's/.*"median":\{"confidence_interval":\{[^}]*\},"point_estimate":([0-9.e+-]+).*/\1/' "$f")
  awk -v n="$name" -v ns="$ns" 'BEGIN { printf "%-60s %12.3f ms\n", n, ns / 1e6 }'
done | tee -a "$log"
