#!/usr/bin/env bash
# The benchmarks behind the README's tables, each printing our figure beside its reference's from
# the same run: NMS and the per-RoI loss beside torchvision, the miner's scoring beside PyTorch
# eager, the Mine stream on loopback beside in-process work, and the trainer's iteration (OHEM's
# 128 + scoring vs all RoIs vs fgbg's 128; libtorch inference beside ONNX Runtime's), staleness, and
# OHEM vs fgbg validation mAP after equal steps over several seeds (the learning effect).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p artifacts
bench=bench/Ohem.Bench/bin/Release/net10.0/Ohem.Bench.dll
dotnet "$bench" selection --markdown artifacts/selection-benchmark.md
dotnet "$bench" scoring --markdown artifacts/scoring-benchmark.md
dotnet "$bench" transport --markdown artifacts/transport-benchmark.md
dotnet "$bench" trainer --markdown artifacts/trainer-benchmark.md
dotnet "$bench" staleness --markdown artifacts/staleness-benchmark.md
dotnet "$bench" seeds --via-miner --markdown artifacts/seeds-benchmark.md --out artifacts/seeds
# The long run of the fuzz suite (README, reliability): 100,000 hostile calls against the miner.
OHEM_FUZZ_MESSAGES=100000 OHEM_FUZZ_SECONDS=1500 OHEM_FUZZ_SEED=7 dotnet test tests/Ohem.Service.Tests -c Release --no-build \
  --filter FullyQualifiedName~FuzzTests --logger "console;verbosity=detailed" | tee artifacts/fuzz-long.txt
echo "bench: tables written to artifacts/{selection,scoring,transport,trainer,staleness,seeds}-benchmark.md"
