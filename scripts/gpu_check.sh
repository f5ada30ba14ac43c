#!/usr/bin/env bash
# One-command GPU check: the gpu-marked tests and the benchmark on CuPy (and NumPy, to compare),
# outputs written to OUT_DIR. Run from anywhere on a machine with an NVIDIA GPU:
#
#     scripts/gpu_check.sh OUT_DIR [DRAWS]        (DRAWS default 10000000)
#
# Python: $PYTHON if set, else the project's .venv, else python3 on PATH. CuPy already installed
# (CuPy 13 on a prepared GPU machine) is used as is; otherwise the gpu extra matching the driver's
# CUDA major (12 -> .[gpu], 13 -> .[gpu-cuda13]) is installed into that Python.
# Exit status: 0 when the tests pass and both benchmarks succeed (their references agree), else 1.
set -uo pipefail

if [ $# -lt 1 ]; then
    echo "usage: $0 OUT_DIR [DRAWS]" >&2
    exit 2
fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$1" || exit 2
OUT="$(cd "$1" && pwd)"
DRAWS="${2:-10000000}"
cd "$ROOT" || exit 2

if [ -n "${PYTHON:-}" ]; then
    PY="$PYTHON"
elif [ -x .venv/bin/python ]; then
    PY=.venv/bin/python
else
    PY=python3
fi
status=0
log() { echo "[gpu_check] $*" | tee -a "$OUT/summary.txt"; }
: > "$OUT/summary.txt"
log "python: $("$PY" -c 'import sys; print(sys.executable, sys.version.split()[0])')"

if ! command -v nvidia-smi > /dev/null; then
    log "no NVIDIA GPU here (nvidia-smi not found): nothing to check"
    exit 1
fi
{ nvidia-smi; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv; } \
    > "$OUT/nvidia-smi.txt" 2>&1 || log "nvidia-smi failed (see nvidia-smi.txt)"

# The package (and its test dependencies) must import; install them only when missing.
if ! "$PY" -c 'import analysis, pytest, hypothesis, array_api_strict' 2>/dev/null; then
    log "installing the package with the dev extra"
    "$PY" -m pip install --quiet -e ".[dev]" > "$OUT/pip-dev.txt" 2>&1 || { log "pip install .[dev] failed"; exit 1; }
fi
if ! "$PY" -c 'import cupy' 2>/dev/null; then
    cuda_major="$(nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: *\([0-9]*\).*/\1/p' | head -n1)"
    extra="gpu"
    [ "$cuda_major" = "13" ] && extra="gpu-cuda13"
    log "CuPy missing: installing .[$extra] (driver CUDA ${cuda_major:-unknown})"
    "$PY" -m pip install --quiet -e ".[$extra]" > "$OUT/pip-gpu.txt" 2>&1 || { log "pip install .[$extra] failed"; exit 1; }
fi
"$PY" -c 'from analysis.backend import cupy_status; ok, why = cupy_status(); print("cupy usable:", ok, "-", why)' \
    2>&1 | tee -a "$OUT/summary.txt"

log "pytest -m gpu -ra"
timeout 900 "$PY" -m pytest -m gpu -ra -p no:cacheprovider tests/ > "$OUT/pytest-gpu.txt" 2>&1
rc=$?; tail -n 15 "$OUT/pytest-gpu.txt" >> "$OUT/summary.txt"
if [ $rc -ne 0 ]; then
    log "GPU tests FAILED (exit $rc)"; status=1
elif ! tail -n 1 "$OUT/pytest-gpu.txt" | grep -q " passed"; then
    log "no GPU test ran (all skipped: CuPy not usable?)"; status=1
fi

for backend in cupy numpy; do
    log "bench --backend $backend --draws $DRAWS"
    timeout 900 "$PY" -m analysis bench --backend "$backend" --draws "$DRAWS" --format json \
        > "$OUT/bench-$backend.json" 2> "$OUT/bench-$backend.err"
    rc=$?
    if [ $rc -ne 0 ]; then log "bench $backend FAILED (exit $rc; see bench-$backend.err)"; status=1; fi
done

"$PY" - "$OUT" >> "$OUT/summary.txt" 2>&1 <<'PYEOF'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
rates = {}
for backend in ("cupy", "numpy"):
    try:
        report = json.loads((out / f"bench-{backend}.json").read_text())
    except Exception as exc:  # a failed run left no JSON
        print(f"{backend}: no result ({type(exc).__name__})")
        continue
    for r in report["results"]:
        rates[r["backend"]] = r["scenario_steps_per_s"]
        print(f"{r['backend']}: {r['draws']:,} draws in {r['seconds']:.3g} s = {r['scenario_steps_per_s']:.3g} "
              f"scenario-steps/s; {r['speedup_vs_scalar']:.0f}x scalar, {r['speedup_vs_naive']:.1f}x naive; simulate {r['stages']['end_to_end_ratio']:.2f}x kernel; "
              f"peak {r['peak_memory_mb']:.0f} MB; references agree: {report['references']['all_agree']}")
if "cupy" in rates and "numpy" in rates:
    print(f"cupy / numpy at the same draws: {rates['cupy'] / rates['numpy']:.1f}x (target >= 50x at 1e7 draws)")
PYEOF
log "outputs in $OUT"
[ $status -eq 0 ] && log "GPU check PASSED" || log "GPU check FAILED"
exit $status
