#!/usr/bin/env bash
# The main job. Until the trainer lands (issues 5 and 6) this runs the benchmarks: our NMS and
# per-RoI loss beside torchvision's, and the miner's scoring pass beside PyTorch eager; the tables
# go to artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p artifacts
dotnet bench/Ohem.Bench/bin/Release/net10.0/Ohem.Bench.dll selection --markdown artifacts/selection-benchmark.md
dotnet bench/Ohem.Bench/bin/Release/net10.0/Ohem.Bench.dll scoring --markdown artifacts/scoring-benchmark.md
echo "main: tables written to artifacts/selection-benchmark.md and artifacts/scoring-benchmark.md"
