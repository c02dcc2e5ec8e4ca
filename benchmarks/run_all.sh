#!/usr/bin/env bash
# Reproduce the backtest and feature figures of benchmarks/RESULTS.md.
#
# Each benchmark runs under the shared Ray/benchmark lock, after waiting (up to RETRIES
# minutes) for the 1-minute load average to drop to the core count; a figure still taken
# above it is marked in RESULTS.md and not reported as a result.
#   benchmarks/run_all.sh            # all sections
#   benchmarks/run_all.sh features   # only the named ones: backtest, features
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
LOCK=${LOCK:-/tmp/raydesk-ray.lock}
RETRIES=${RETRIES:-20}
CORES=$(nproc)
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

wait_for_quiet() {
    for _ in $(seq "$RETRIES"); do
        load=$(cut -d' ' -f1 /proc/loadavg)
        if awk -v l="$load" -v c="$CORES" 'BEGIN { exit !(l <= c) }'; then
            return 0
        fi
        echo "load $load above $CORES cores: waiting a minute" >&2
        sleep 60
    done
    echo "the machine never got quiet: running anyway, figures will be marked" >&2
}

run() {
    wait_for_quiet
    flock "$LOCK" timeout 3600 "$PY" "$@"
}

sections=("$@")
[ ${#sections[@]} -eq 0 ] && sections=(backtest features)
for section in "${sections[@]}"; do
    case "$section" in
        backtest) run benchmarks/bench_backtest.py ;;
        features) run benchmarks/bench_features.py ;;
        *) echo "unknown section: $section (backtest, features)" >&2; exit 2 ;;
    esac
done
