#!/usr/bin/env bash
# Checks a build output really is for its target: the binary and every native library are ELF for the
# expected machine, and nothing for Windows/macOS came along.
#   deploy-scripts/check-artifacts.sh artifacts/linux-arm64 linux-arm64
# Prints one "ok - ..." or "not ok - ..." line; exits 1 on a mismatch.
set -euo pipefail
dir="$1"; rid="$2"
case "$rid" in
  linux-x64) machine='x86-64' ;;
  linux-arm64) machine='ARM aarch64' ;;
  *) echo "check-artifacts.sh: unknown runtime '$rid'" >&2; exit 2 ;;
esac
problems=()
for f in "$dir/linesight" "$dir/libonnxruntime.so" "$dir/libSkiaSharp.so"; do
  if [[ ! -f "$f" ]]; then problems+=("$(basename "$f") missing"); continue; fi
  description="$(file -b "$f")"
  [[ "$description" == ELF\ 64-bit*"$machine"* ]] || problems+=("$(basename "$f"): $description")
done
if find "$dir" -maxdepth 1 \( -iname '*.dll' -o -iname '*.dylib' -o -iname '*.exe' \) | grep -q .; then
  problems+=("Windows/macOS files in $dir")
fi
if (( ${#problems[@]} )); then
  echo "not ok - $rid build output is $machine: ${problems[*]}"; exit 1
fi
echo "ok - $rid build output (linesight, libonnxruntime.so, libSkiaSharp.so) is ELF $machine, no Windows/macOS files"
