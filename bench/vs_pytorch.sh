#!/bin/sh
# vs_pytorch.sh: smartty against PyTorch + transformers on the same machine, shapes, batches, threads and
# recipes (bench/vs_pytorch.py does the measuring). Makes a virtual environment with torch and
# transformers from PyPI unless VS_PYTORCH_VENV names one that has them; builds nothing itself.
#
#   make -C build bench
#   OPENBLAS_NUM_THREADS=2 SMARTTY_SHARED=/work/shared sh bench/vs_pytorch.sh [vs_pytorch.py options]
#   (options: --shapes mini,minilm,base --data fixed,mrpc,sst2 --kinds vanilla,paper,infer --rounds 5)
#
# Environment: VS_PYTORCH_VENV=DIR reuses a venv (default: make one in bench-venv/ of the current
# folder, gigabytes); BENCH_SMART=PATH the built bench_smart (default build/bench/bench_smart).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bench=${BENCH_SMART:-build/bench/bench_smart}
if [ ! -x "$bench" ]; then
    echo "vs_pytorch: $bench is not built: run 'make -C build bench' (or set BENCH_SMART)" >&2
    exit 1
fi
venv=${VS_PYTORCH_VENV:-}
if [ -z "$venv" ]; then
    venv=$(pwd)/bench-venv
    if [ ! -x "$venv/bin/python" ]; then
        echo "vs_pytorch: making a virtual environment in $venv with torch (CPU) and transformers from PyPI" >&2
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --index-url https://download.pytorch.org/whl/cpu torch
        "$venv/bin/pip" install --quiet transformers
    fi
fi
if ! "$venv/bin/python" -c "import torch, transformers" 2>/dev/null; then
    echo "vs_pytorch: $venv/bin/python cannot import torch and transformers" >&2
    exit 1
fi
threads=${OPENBLAS_NUM_THREADS:-2}
export OPENBLAS_NUM_THREADS=$threads
exec "$venv/bin/python" "$here/vs_pytorch.py" --bench-smart "$bench" --threads "$threads" "$@"
