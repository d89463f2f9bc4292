#!/usr/bin/env bash
# Idle cost of cabled: resident memory and wake-ups per second (context switches of all its
# threads) while no session is open. Usage: scripts/measure-idle.sh [SECONDS] (default 30).
# Needs a release build: cargo build --release -p cabled
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
bin=target/release/cabled
[ -x "$bin" ] || { echo "build first: cargo build --release -p cabled" >&2; exit 1; }
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
XDG_DATA_HOME="$dir/data" XDG_CONFIG_HOME="$dir/config" \
    "$bin" --socket "$dir/cabled.sock" --radio udp:127.0.0.1:0 >/dev/null 2>&1 &
pid=$!
for _ in $(seq 50); do [ -S "$dir/cabled.sock" ] && break; sleep 0.1; done
[ -S "$dir/cabled.sock" ] || { echo "cabled did not start" >&2; exit 1; }
sleep 2 # let start-up settle
switches() { cat /proc/"$pid"/task/*/status | awk '/ctxt_switches/ {s += $2} END {print s}'; }
before=$(switches)
sleep "$seconds"
after=$(switches)
rss=$(awk '/VmRSS/ {print $2}' /proc/"$pid"/status)
threads=$(ls /proc/"$pid"/task | wc -l)
echo "cabled idle for ${seconds}s: RSS ${rss} KiB, ${threads} threads, $((after - before)) context switches ($(awk -v n=$((after - before)) -v s="$seconds" 'BEGIN {printf "%.2f", n / s}') wake-ups/s)"
