#!/usr/bin/env bash
# Installs what the build, the tests and the main job need and the machine lacks, then builds.
# Idempotent: installs only what is missing; runs apt-get update first when it installs anything.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages:
#  python3-torchvision  torch/torchvision reference for parity tests and benchmarks (/usr/bin/python3)
#  libopenblas0-openmp  fast BLAS for that reference (the default reference BLAS is 4-5x slower)
#  python3-onnx         the official ONNX checker, run over our exporter's models in the tests
#  python3-grpcio, python3-grpc-tools   a real third-party gRPC peer for the interop tests
#  prometheus           its promtool checks our /metrics exposition in the tests
#  dataset-fashion-mnist             the bundled training data (detection canvases are built from it)
#  curl                              the main job waits for the miner's health check with it
DEBIAN_PACKAGES=(python3-torchvision libopenblas0-openmp python3-onnx python3-grpcio python3-grpc-tools prometheus
  dataset-fashion-mnist curl)

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v dotnet >/dev/null 2>&1; then
  echo "setup: the .NET SDK (10.0.4xx) is required and was not found on PATH" >&2
  exit 1
fi

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

dotnet build OhemService.sln -c Release --nologo -v quiet
