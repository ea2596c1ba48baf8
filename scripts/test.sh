#!/usr/bin/env bash
# The tests: installs what is missing, builds, and runs every test project of the solution.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
dotnet test OhemService.sln -c Release --no-build --nologo "$@"
