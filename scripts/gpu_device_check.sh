#!/usr/bin/env bash
# GPU device check: run from anywhere on a machine with an NVIDIA GPU and driver (about a minute).
# Uses .venv if it works here, else creates it with `pip install -e '.[test]'` (offline from a wheel folder when
# WHEELS=/path/to/wheels is set: build it elsewhere with `pip wheel -w wheels '.[test]' setuptools`).
# No database server is needed: without DATABASE_URL the test settings use SQLite. Prints what NVML sees through
# `manage.py gpu_probe`, then runs the tests marked `gpu` (the real NvmlProbe, and its GPUs through the inventory).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-python3.11}
if ! .venv/bin/python -c 'import django, pynvml, pytest_django' 2>/dev/null; then
    rm -rf .venv
    "$PY" -m venv .venv
    if [ -n "${WHEELS:-}" ]; then
        .venv/bin/python -m pip install -q --no-index --find-links "$WHEELS" -e '.[test]'
    else
        .venv/bin/python -m pip install -q -e '.[test]'
    fi
fi

echo "== nvidia-smi =="
timeout 20 nvidia-smi --query-gpu=index,uuid,name,memory.total,memory.free,driver_version --format=csv \
    || echo "(nvidia-smi unavailable)"
echo "== python manage.py gpu_probe =="
timeout 60 .venv/bin/python manage.py gpu_probe --settings=comfyvn_site.settings.test
echo "== pytest -m gpu =="
timeout 300 .venv/bin/python -m pytest -m gpu -v -s -rs -p no:warnings tests/gpu
