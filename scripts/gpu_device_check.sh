#!/usr/bin/env bash
# GPU device check: run from anywhere on a machine with an NVIDIA GPU and driver (about a minute).
# Interpreter: $PYTHON when set (e.g. a python3 whose path already holds the project's requirements, as on a machine
# with no network: `pip install --target /tmp/site .whl/*.whl; PYTHONPATH=/tmp/site PYTHON=python3 ...`); else .venv,
# created with `pip install -e '.[test]'` when it does not work here.
# No database server is needed: everything runs on SQLite. Prints what NVML sees through `manage.py gpu_probe`, runs
# the tests marked `gpu` (the real NvmlProbe, and its GPUs through the inventory), then reports this host into a
# scratch database and asks the advisor, end to end, where a job that fits this GPU's memory should run.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${PYTHON:-}" ]; then
    PYTHON=.venv/bin/python
    if ! "$PYTHON" -c 'import django, pynvml, pytest_django' 2>/dev/null; then
        rm -rf .venv
        "${PY:-python3.11}" -m venv .venv
        .venv/bin/python -m pip install -q -e '.[test]'
    fi
fi

echo "== nvidia-smi =="
timeout 20 nvidia-smi --query-gpu=index,uuid,name,memory.total,memory.free,driver_version --format=csv \
    || echo "(nvidia-smi unavailable)"
echo "== manage.py gpu_probe =="
timeout 60 "$PYTHON" manage.py gpu_probe --settings=comfyvn_site.settings.test
echo "== pytest -m gpu =="
timeout 300 "$PYTHON" -m pytest -m gpu -v -s -rs -p no:warnings tests/gpu

echo "== end to end: gpu_report, then advise a job that needs 90% of GPU 0's memory =="
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export DATABASE_URL="sqlite:///$scratch/db.sqlite3" DJANGO_SETTINGS_MODULE=comfyvn_site.settings.test
manage() { timeout 120 "$PYTHON" manage.py "$@"; }
manage migrate --noinput -v 0
manage sync_provider_templates
manage gpu_report --hostname gpu-device-check
"$PYTHON" - "$scratch/job.json" <<'PY'
import json, sys
import pynvml
pynvml.nvmlInit()
total_gb = pynvml.nvmlDeviceGetMemoryInfo(pynvml.nvmlDeviceGetHandleByIndex(0)).total / 1024**3
job = {"workload": {"requirements": {"type": "render", "min_vram_gb": round(total_gb * 0.9, 1)}}}
json.dump(job, open(sys.argv[1], "w"))
print("workload:", json.dumps(job))
PY
manage advise --dry-run "$scratch/job.json"
