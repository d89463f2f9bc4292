#!/usr/bin/env bash
# Runs every fuzz target one after another and prints, per target, the executions, the
# executions per second and the coverage libFuzzer reached.
#
#   scripts/fuzz-all.sh SECONDS            each target for SECONDS
#   scripts/fuzz-all.sh --runs N           each target for N executions
#   SANITIZER=address scripts/fuzz-all.sh 60   with AddressSanitizer (default: none, for speed)
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`) and a C++ toolchain; works on stable Rust
# through RUSTC_BOOTSTRAP=1 (see docs/fuzzing.md). New inputs go to fuzz/corpus/<target>
# (gitignored); the seeds in fuzz/seeds/<target> are read, never written.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

if [ "${1:-}" = "--runs" ]; then
    limit="-runs=${2:?--runs takes a number}"
else
    limit="-max_total_time=${1:?usage: fuzz-all.sh SECONDS | --runs N}"
fi
sanitizer="${SANITIZER:-none}"
export RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$PWD/target-$sanitizer"

command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is missing: cargo install cargo-fuzz" >&2; exit 1; }
targets=$(cargo fuzz list)
cargo fuzz build -O -s "$sanitizer" >/dev/null

# The longest input worth trying per target: adverts, QR URLs and tunnel messages are short,
# and libFuzzer's default of 4 KiB mostly buys slower runs, not coverage (docs/fuzzing.md).
# The others keep the default (ctaphid_device's seeds reach 8 KiB).
max_len() {
    case "$1" in
        advert_decrypt) echo 256 ;;
        qr_url) echo 512 ;;
        post_handshake | channel_open) echo 1024 ;;
        *) echo 0 ;;
    esac
}

printf '%-16s %12s %10s %8s %8s\n' target executions exec/s cov ft
for t in $targets; do
    mkdir -p "corpus/$t"
    log=$(mktemp)
    cargo fuzz run -O -s "$sanitizer" "$t" "corpus/$t" "seeds/$t" -- \
        "$limit" -max_len="$(max_len "$t")" -print_final_stats=1 >"$log" 2>&1 || { echo "$t FAILED (see $log)"; tail -30 "$log"; exit 1; }
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    printf '%-16s %12s %10s %8s %8s\n' "$t" "$runs" "$speed" "$cov" "$ft"
    rm -f "$log"
done
