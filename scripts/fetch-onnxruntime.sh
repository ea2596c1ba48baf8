#!/usr/bin/env bash
# Fetches ONNX Runtime's native library once into .cache/onnxruntime/<version>/ (ignored by git):
# npm's onnxruntime-node package ships libonnxruntime.so.1 (CPU execution provider, system
# libraries only). Both the package and the library are checked against pinned sha256 sums.
# Called by the Ohem.Onnx build (when the library is absent) and by scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=1.30.0
PACKAGE_SHA256=6e3390d6b783e7be946fad629292799da28d0b42f84856e50d2c1b0383291e75
LIBRARY_SHA256=ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23
LIBRARY_IN_PACKAGE=package/bin/napi-v6/linux/x64/libonnxruntime.so.1
dest=".cache/onnxruntime/$VERSION"

if [ -f "$dest/libonnxruntime.so.1" ] && echo "$LIBRARY_SHA256  $dest/libonnxruntime.so.1" | sha256sum -c --quiet - 2>/dev/null; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "fetch-onnxruntime: npm is required (scripts/setup.sh installs it)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "fetch-onnxruntime: npm pack onnxruntime-node@$VERSION"
(cd "$work" && npm pack --silent "onnxruntime-node@$VERSION" >/dev/null)
package="$work/onnxruntime-node-$VERSION.tgz"
echo "$PACKAGE_SHA256  $package" | sha256sum -c --quiet - || { echo "fetch-onnxruntime: package checksum mismatch" >&2; exit 1; }
tar -xzf "$package" -C "$work" "$LIBRARY_IN_PACKAGE"
echo "$LIBRARY_SHA256  $work/$LIBRARY_IN_PACKAGE" | sha256sum -c --quiet - || { echo "fetch-onnxruntime: library checksum mismatch" >&2; exit 1; }
mkdir -p "$dest"
mv -f "$work/$LIBRARY_IN_PACKAGE" "$dest/libonnxruntime.so.1.partial"
mv -f "$dest/libonnxruntime.so.1.partial" "$dest/libonnxruntime.so.1" # atomic: concurrent builds see all or nothing
echo "fetch-onnxruntime: $dest/libonnxruntime.so.1"
