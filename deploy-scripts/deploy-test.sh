#!/usr/bin/env bash
# Deployment checks on published binaries (deploy-scripts/test.sh runs it after the linux-x64 publish):
#   deploy-scripts/deploy-test.sh [artifacts/linux-x64]
# Cross-builds linux-arm64 once (minutes on 2 cores) and checks it is AArch64 (ONNX Runtime cannot run under qemu
# here, so arm64 is built, x64 is run), lints the scripts and the unit.
# Prints one "ok - ..." / "not ok - ..." line per check.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
x64="${1:-$root/artifacts/linux-x64}"
failed=0
check() { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; failed=$((failed + 1)); fi; }

deploy-scripts/check-artifacts.sh "$x64" linux-x64 || failed=$((failed + 1))
if "$root/deploy-scripts/build.sh" linux-arm64 2>"$root/artifacts/build-arm64.log"; then
  "$root/deploy-scripts/check-artifacts.sh" "$root/artifacts/linux-arm64" linux-arm64 || failed=$((failed + 1))
  check "linux-arm64 binary carries the same version and commit stamp as linux-x64" \
    "strings '$root/artifacts/linux-arm64/linesight' | grep -qF \"\$('$x64/linesight' --version | head -1 | sed -E 's/^linesight ([^ ]+) \\(commit ([^)]+)\\)/\\1+\\2/')\""
else
  echo "not ok - linux-arm64 NativeAOT cross build"; tail -30 "$root/artifacts/build-arm64.log"; failed=$((failed + 1))
fi
check "deploy scripts pass shellcheck" "shellcheck -x '$root'/deploy-scripts/*.sh"
exit $(( failed > 0 ))
