#!/usr/bin/env bash
# Fuzzes Tether's untrusted inputs: every target in fuzz/ (or the ones
# named) for SECONDS_PER_TARGET seconds (default 600), one after another.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET [TARGET...]]
#
# Each target starts from its committed seeds (fuzz/seeds/<target>) and the
# corpus of earlier runs (fuzz/corpus/<target>, not committed), with its
# dictionary (fuzz/dicts/<target>.dict) when there is one. It runs in
# libFuzzer's fork mode with one job, so it keeps going after a crash and
# uses the whole time; crashing inputs land in fuzz/artifacts/<target>/.
# Logs are in fuzz/logs/<target>.log. Needs the nightly toolchain.
set -euo pipefail

seconds="${1:-600}"
targets=(bundle_open bundle_merge csv_parse xlsx_parse xlsx_sheet keyfile_parse)
if [ "$#" -gt 1 ]; then targets=("${@:2}"); fi
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/fuzz"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
nice -n 10 cargo +nightly fuzz build

mkdir -p logs
summary=()
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "artifacts/$target"
    log="logs/$target.log"
    # The targets make their databases and files under TMPDIR; one folder
    # per run, removed after it.
    scratch="$(mktemp -d "${TMPDIR:-/tmp}/tether-fuzz-$target.XXXXXX")"
    before="$(find "artifacts/$target" -type f | sort)"
    dict=()
    if [ -f "dicts/$target.dict" ]; then dict=(-dict="dicts/$target.dict"); fi
    echo "== $target: ${seconds}s"
    TMPDIR="$scratch" nice -n 10 cargo +nightly fuzz run "$target" \
        "corpus/$target" "seeds/$target" -- "${dict[@]}" \
        -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 \
        -max_total_time="$seconds" -timeout=60 \
        -rss_limit_mb=4096 -malloc_limit_mb=4096 \
        >"$log" 2>&1 || true
    rm -rf "$scratch"
    # Fork mode prints "#<executions>: cov: ... oom/timeout/crash: a/b/c time: <n>s ...".
    last="$(grep -E '^#[0-9]+: cov:' "$log" | tail -n 1 || true)"
    execs="$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$last")"
    took="$(grep -oE 'time: [0-9]+s' <<<"$last" | grep -oE '[0-9]+' || true)"
    corpus="$(find "corpus/$target" -type f | wc -l)"
    failures="$(grep -oE 'oom/timeout/crash: [0-9]+/[0-9]+/[0-9]+' <<<"$last" || true)"
    after="$(find "artifacts/$target" -type f | sort)"
    new="$(comm -13 <(echo "$before") <(echo "$after") | sed '/^$/d')"
    summary+=("$target: ${execs:-0} executions in ${took:-0}s, corpus $corpus files, ${failures:-oom/timeout/crash: 0/0/0}")
    if [ -n "$new" ]; then
        while read -r f; do summary+=("    new: fuzz/$f"); done <<<"$new"
    fi
done

echo
echo "Summary"
printf '%s\n' "${summary[@]}"
