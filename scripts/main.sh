#!/usr/bin/env bash
# The main job. Until the trainer lands (issues 5 and 6) this is the selection benchmark: our NMS
# and per-RoI loss beside torchvision's on proposal-scale inputs, written to artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p artifacts
dotnet bench/Ohem.Bench/bin/Release/net10.0/Ohem.Bench.dll selection --markdown artifacts/selection-benchmark.md "$@"
echo "main: table written to artifacts/selection-benchmark.md"
