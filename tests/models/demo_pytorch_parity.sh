#!/usr/bin/env bash
# Exports the demo model's fixed-input outputs with PyTorch (tools/demo-model/export_reference.py)
# into a temporary file and runs the DemoModel tests against it. Exit 77 (ctest: skipped) where
# python3-torch or the demo model is missing.
# Usage: demo_pytorch_parity.sh TEST_MODELS_BINARY REPO_ROOT
set -euo pipefail
test_models=$1
repo=$2
model=${SDWALK_DEMO_MODEL:-$repo/models/demo}
if [ ! -f "$model/model_index.json" ]; then echo "skipped: no demo model at $model"; exit 77; fi
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then echo "skipped: /usr/bin/python3 has no torch"; exit 77; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 "$repo/tools/demo-model/export_reference.py" --model "$model" --out "$tmp/reference.safetensors"
SDWALK_DEMO_MODEL=$model SDWALK_DEMO_REFERENCE="$tmp/reference.safetensors" "$test_models" --gtest_filter='DemoModel.*'
