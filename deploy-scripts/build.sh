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
    # Cross-compiling: ILC emits AArch64 objects; clang links them against the Debian arm64 sysroot.
    if ! command -v aarch64-linux-gnu-objcopy >/dev/null || [[ ! -d /usr/aarch64-linux-gnu/lib ]] \
        || ! compgen -G '/usr/bin/clang-[0-9]*' >/dev/null; then
      echo "build.sh: installing the arm64 cross toolchain (gcc-aarch64-linux-gnu libc6-dev-arm64-cross clang)" >&2
      sudo_cmd=(); [[ $EUID -ne 0 ]] && sudo_cmd=(sudo)
      "${sudo_cmd[@]}" apt-get update -qq
      DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
        gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu clang >/dev/null
    fi
    # The newest versioned clang installed (Debian 12: clang-14); ILC passes it --target=aarch64-linux-gnu.
    clang_bin="$(compgen -c clang- | grep -E '^clang-[0-9]+$' | sort -t- -k2 -n | tail -1)"
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
# The ONNX Runtime and SkiaSharp natives must be the target's, never the build machine's.
for lib in linesight libonnxruntime.so libSkiaSharp.so; do
  if [[ ! -f "$out/$lib" ]]; then echo "build.sh: $lib missing from $out" >&2; exit 1; fi
done
ls -la "$out" >&2
