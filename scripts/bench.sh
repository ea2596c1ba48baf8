#!/usr/bin/env bash
# The benchmarks behind the README's tables, each printing our figure beside its reference's from
# the same run: NMS and the per-RoI loss beside torchvision, the miner's scoring beside PyTorch
# eager, the Mine stream on loopback beside in-process work, and the trainer's iteration (OHEM's
# 128 + scoring vs all RoIs vs fgbg's 128; libtorch inference beside ONNX Runtime's), staleness, and
# OHEM vs fgbg validation mAP after equal steps over several seeds (the learning effect), through the
# miner at s = 0, by hardness loss, and from a pretrained backbone.
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
# The learning benchmarks (3,000 steps per run, one libtorch thread; finished run folders in
# artifacts/runs are reused, so an interrupted bench.sh picks up where it stopped).
dotnet "$bench" seeds --via-miner --threads 1 --runs artifacts/runs --markdown artifacts/seeds-benchmark.md --out artifacts/seeds
dotnet "$bench" seeds --via-miner --miner-staleness 0 --seeds 1 --threads 1 --runs artifacts/runs --markdown artifacts/staleness-s0-benchmark.md
dotnet "$bench" hardness --seeds 1 --threads 1 --runs artifacts/runs --markdown artifacts/hardness-benchmark.md
trainer=src/Ohem.Trainer/bin/Release/net10.0/Ohem.Trainer.dll
dotnet "$trainer" pretrain --steps 1000 --threads 1 --seed 1 --out artifacts/pretrain
dotnet "$bench" seeds --backbone-weights artifacts/pretrain/backbone.weights --eval-every 0 --threads 1 --runs artifacts/pretrained-runs \
  --markdown artifacts/pretrained-benchmark.md --out artifacts/pretrained
# The long run of the fuzz suite (README, reliability): 100,000 hostile calls against the miner.
OHEM_FUZZ_MESSAGES=100000 OHEM_FUZZ_SECONDS=1500 OHEM_FUZZ_SEED=7 dotnet test tests/Ohem.Service.Tests -c Release --no-build \
  --filter FullyQualifiedName~FuzzTests --logger "console;verbosity=detailed" | tee artifacts/fuzz-long.txt
echo "bench: tables written to artifacts/{selection,scoring,transport,trainer,staleness,seeds,staleness-s0,hardness,pretrained}-benchmark.md"
