#!/usr/bin/env bash
# The main job. Until the trainer lands (issues 5 and 6) this runs the benchmarks: our NMS and
# per-RoI loss beside torchvision's, the miner's scoring pass beside PyTorch eager, and the Mine
# stream on loopback beside the same work in-process; the tables go to artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p artifacts
dotnet bench/Ohem.Bench/bin/Release/net10.0/Ohem.Bench.dll selection --markdown artifacts/selection-benchmark.md
dotnet bench/Ohem.Bench/bin/Release/net10.0/Ohem.Bench.dll scoring --markdown artifacts/scoring-benchmark.md
dotnet bench/Ohem.Bench/bin/Release/net10.0/Ohem.Bench.dll transport --markdown artifacts/transport-benchmark.md
echo "main: tables written to artifacts/{selection,scoring,transport}-benchmark.md"
