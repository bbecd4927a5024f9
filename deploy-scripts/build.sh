#!/usr/bin/env bash
# Publishes the NativeAOT `linesight` binary for a runtime identifier:
#   deploy-scripts/build.sh [linux-x64|linux-arm64]   (default: linux-x64)
# Output: artifacts/<rid>/linesight with libonnxruntime.so beside it. Any trim/AOT warning fails the build.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rid="${1:-linux-x64}"
out="$root/artifacts/$rid"
extra=()
case "$rid" in
  linux-x64) ;;
  linux-arm64)
    # Cross-compiling needs the aarch64 toolchain; clang links with the cross sysroot.
    if ! command -v aarch64-linux-gnu-objcopy >/dev/null || ! command -v clang >/dev/null; then
      echo "build.sh: linux-arm64 needs: apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross clang" >&2
      exit 2
    fi
    clang_bin="$(command -v clang-14 || command -v clang)"
    extra+=("-p:CppCompilerAndLinker=$clang_bin" "-p:ObjCopyName=aarch64-linux-gnu-objcopy")
    ;;
  *) echo "build.sh: unknown runtime '$rid' (use linux-x64 or linux-arm64)" >&2; exit 2 ;;
esac

commit="$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git -C "$root" status --porcelain 2>/dev/null)" ]]; then commit="$commit-dirty"; fi

"$root/deploy-scripts/fetch-models.sh"
rm -rf "$out"
log="$(mktemp)"
if ! dotnet publish "$root/runtime/Linesight.Host/Linesight.Host.csproj" -c Release -r "$rid" \
    -p:SourceRevisionId="$commit" -o "$out" "${extra[@]}" -nologo -clp:NoSummary >"$log" 2>&1; then
  cat "$log" >&2; rm -f "$log"; exit 1
fi
# Belt and braces: the project treats IL warnings as errors; fail loudly if one ever slips through.
if grep -E "warning (IL[0-9]{4})" "$log"; then
  echo "build.sh: trim/AOT warnings above; the binary must build clean" >&2; rm -f "$log"; exit 1
fi
rm -f "$log"
# Only what the box needs: the binary and the native libraries for this RID.
find "$out" -maxdepth 1 -type f \( -name '*.pdb' -o -name '*.dbg' -o -name '*.dll' -o -name '*.dylib' -o -name '*.xml' \) -delete
ls -la "$out" >&2
