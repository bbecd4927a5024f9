#!/usr/bin/env bash
# Runs every test on a fresh Debian machine:
#   1. installs what the tests need (mosquitto + clients, ffmpeg, python3-onnx, python3-jsonschema, file, espeak-ng, openssl, gcc, fonts for rendered labels)
#   2. builds the solution once and runs the xunit projects (real ONNX Runtime, real models, real mosquitto)
#   3. publishes the NativeAOT binary (fails on any trim/AOT warning) and smoke-tests it against mosquitto
#   4. runs the README's demo command for a few seconds
# Ends with one line "N passed, N failed" and exits non-zero if anything failed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="$root/artifacts/test-results"
rm -rf "$out"; mkdir -p "$out"

need=(mosquitto mosquitto-clients ffmpeg python3-onnx python3-jsonschema file espeak-ng openssl gcc make libc6-dev fonts-dejavu-core fonts-liberation)
need+=(shellcheck openssh-server openssh-client systemd)  # deployment: script lint, flash-device.sh over a real sshd, systemd-analyze
need+=(protobuf-compiler python3-protobuf)  # Sparkplug B: payloads decoded by an independently compiled schema
need+=(python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good)  # a real RTSP server that cameras are pulled from
command -v npm >/dev/null || need+=(npm)
missing=()
for p in "${need[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if (( ${#missing[@]} )); then
  echo "test.sh: installing ${missing[*]}" >&2
  sudo_cmd=(); [[ $EUID -ne 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian package may start a system mosquitto on 1883; tests use their own brokers on free ports.

passed=0; failed=0
count_trx() {
  local f p x
  for f in "$out"/*.trx; do
    [[ -f "$f" ]] || continue
    p=$(grep -o '<Counters [^>]*' "$f" | grep -o 'passed="[0-9]*"' | grep -o '[0-9]*')
    x=$(grep -o '<Counters [^>]*' "$f" | grep -o ' failed="[0-9]*"' | grep -o '[0-9]*')
    passed=$((passed + ${p:-0})); failed=$((failed + ${x:-0}))
  done
}

echo "== build and unit/integration tests" >&2
deploy-scripts/fetch-models.sh
dotnet build Linesight.slnx -c Release -nologo -clp:NoSummary -v:q
set +e
dotnet test Linesight.slnx -c Release --no-build --logger "trx" --results-directory "$out" \
  --blame-hang-timeout 5m -- RunConfiguration.TreatNoTestsAsError=true
test_code=$?
set -e
count_trx
if (( test_code != 0 )) && (( failed == 0 )); then
  echo "test.sh: dotnet test failed without a failed test (crash or hang); counting it as a failure" >&2
  failed=$((failed + 1))
fi

echo "== allocation budgets of the micro-benchmark workloads (benchmarks/allocation-budgets.json)" >&2
if dotnet benchmarks/Linesight.Benchmarks/bin/Release/net10.0/Linesight.Benchmarks.dll --check benchmarks/allocation-budgets.json > "$out/budgets.txt" 2>&1; then
  passed=$((passed + 1)); echo "ok - allocation budgets"
else
  failed=$((failed + 1)); echo "not ok - allocation budgets"; cat "$out/budgets.txt"
fi

echo "== NativeAOT publish (zero trim/AOT warnings) and smoke test" >&2
if deploy-scripts/build.sh linux-x64 2>"$out/build.log"; then
  passed=$((passed + 1)); echo "ok - NativeAOT publish with zero IL warnings"
  set +e
  deploy-scripts/smoke-test.sh "$root/artifacts/linux-x64" | tee "$out/smoke.txt"
  set -e
  passed=$((passed + $(grep -c '^ok - ' "$out/smoke.txt" || true)))
  failed=$((failed + $(grep -c '^not ok - ' "$out/smoke.txt" || true)))

  echo "== deployment: linux-arm64 cross build, bundles, A/B install with the real binary" >&2
  set +e
  deploy-scripts/deploy-test.sh "$root/artifacts/linux-x64" | tee "$out/deploy.txt"
  set -e
  passed=$((passed + $(grep -c '^ok - ' "$out/deploy.txt" || true)))
  failed=$((failed + $(grep -c '^not ok - ' "$out/deploy.txt" || true)))

  echo "== README demo command" >&2
  set +e
  DEMO_SECONDS=10 DEMO_PORT="$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')" \
    deploy-scripts/demo.sh > "$out/demo.txt" 2>&1
  demo_code=$?
  set -e
  if (( demo_code == 0 )) && grep -q ' → 0°\| → 180°' "$out/demo.txt"; then
    passed=$((passed + 1)); echo "ok - deploy-scripts/demo.sh runs the demo and shows results"
  else
    failed=$((failed + 1)); echo "not ok - deploy-scripts/demo.sh (exit $demo_code)"; tail -20 "$out/demo.txt"
  fi
else
  failed=$((failed + 1)); echo "not ok - NativeAOT publish"; tail -40 "$out/build.log"
fi

echo "$passed passed, $failed failed"
(( failed == 0 ))
