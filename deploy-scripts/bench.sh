#!/usr/bin/env bash
# Measures everything docs/benchmarks.md promises, from scratch, on this machine, and rewrites the generated part of
# docs/benchmarks.md (between the bench.sh markers) and docs/benchmarks.svg:
#   deploy-scripts/bench.sh            build (solution + NativeAOT binary), then measure (~10-15 min on 2 idle cores)
#   BENCH_SKIP_BUILD=1 deploy-scripts/bench.sh    measure what is already built
# Raw outputs stay in artifacts/bench/ for inspection. Every ratio is measured side by side in this one run.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || exit 1
raw="$root/artifacts/bench"
rm -rf "$raw"; mkdir -p "$raw"
bin="${BENCH_BINARY:-$root/artifacts/linux-x64/linesight}"
jit="$root/runtime/Linesight.Host/bin/Release/net10.0/linesight"
started=$(date +%s)
# A fresh state directory: the default outbox (~/.local/state/linesight/outbox/...) is shared by every run on the box, and
# results another run left there would be replayed first and counted as ours.
export XDG_STATE_HOME="$raw/state"
unset STATE_DIRECTORY
log() { echo "bench.sh [$(( $(date +%s) - started ))s, load $(cut -d' ' -f1 /proc/loadavg)]: $*" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
cmd() { # records the exact command and the load when it started, then runs it
  printf '%s\t%s\n' "$(loadavg)" "$*" >> "$raw/commands.tsv"
  "$@"
}

{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit=$(git rev-parse --short=12 HEAD)$([[ -n "$(git status --porcelain -- runtime benchmarks device-profiles firmware-bridge)" ]] && echo -dirty)"
  echo "cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
  echo "cores=$(nproc)"
  echo "memory=$(free -g | awk '/^Mem:/ {print $2}') GiB"
  echo "load_start=$(loadavg)"
  echo "dotnet=$(dotnet --version)"
  echo "kernel=$(uname -r)"
} > "$raw/machine.env"

if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
  log "building the solution and the NativeAOT binary"
  cmd dotnet build Linesight.slnx -c Release -nologo -v:q >"$raw/build.log" 2>&1 || { cat "$raw/build.log"; exit 1; }
  cmd deploy-scripts/build.sh linux-x64 >>"$raw/build.log" 2>&1 || { cat "$raw/build.log"; exit 1; }
fi

# A local mosquitto for everything that publishes.
port="$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
printf 'listener %s 127.0.0.1\nallow_anonymous true\nmax_queued_messages 1000000\n' "$port" > "$raw/mosquitto.conf"
mosquitto -c "$raw/mosquitto.conf" >/dev/null 2>&1 & broker=$!
trap 'kill $broker 2>/dev/null' EXIT
sleep 0.5

log "micro-benchmarks (BenchmarkDotNet, in-process short jobs)"
cmd dotnet benchmarks/Linesight.Benchmarks/bin/Release/net10.0/Linesight.Benchmarks.dll --artifacts "$raw/micro" >"$raw/micro.log" 2>&1 \
  || echo "micro-benchmarks failed (see $raw/micro.log)" >> "$raw/problems.txt"

log "per-model bench, fp32 and int8 (int8 made by linesight quantize)"
# model file | manifest | calibration folder (sample images the manifest's pre-processing reads)
models=(
  "ch_ppocr_mobile_v2.0_cls_infer.onnx|ppocr-text-orientation.json|models/samples/labels"
  "ch_PP-OCRv4_det_infer.onnx|ppocr-text-detection.json|models/samples/inspection"
  "ch_PP-OCRv4_rec_infer.onnx|ppocr-text-recognition.json|models/samples/labels"
  "mlsd_320x320_tiny.onnx|mlsd-line-segments.json|models/samples/inspection"
  "face_detection_front_128x128_barracuda.onnx|blazeface-front.json|models/samples/inspection"
  "silero_vad_16k_op15.onnx|silero-vad.json|"
)
mkdir -p "$raw/int8"
for entry in "${models[@]}"; do
  IFS='|' read -r file manifest calib <<< "$entry"
  name="${file%.onnx}"
  cmd "$bin" bench --model "models/cache/$file" --manifest "models/manifests/$manifest" --profile simulated --threads 1 \
    --runs "${BENCH_MODEL_RUNS:-300}" --warmup 30 --json >"$raw/bench-$name-fp32.json" 2>"$raw/bench-$name-fp32.err"
  echo $? > "$raw/bench-$name-fp32.code"
  if [[ -n "$calib" ]]; then
    cmd timeout "${BENCH_QUANTIZE_TIMEOUT:-240}" "$bin" quantize --model "models/cache/$file" --manifest "models/manifests/$manifest" --calibration "$calib" \
      --output "$raw/int8/$name.int8.onnx" --profile simulated --latency-rounds 0 >"$raw/quantize-$name.txt" 2>&1
    code=$?; echo "$code" > "$raw/quantize-$name.code"
    (( code == 124 )) && echo "timed out after ${BENCH_QUANTIZE_TIMEOUT:-240} s" >> "$raw/quantize-$name.txt"
    if [[ -f "$raw/int8/$name.int8.onnx" ]]; then
      # The manifest pins the fp32 file's hash: a copy beside it (its relative paths stay valid) pins the int8 file's instead.
      int8_manifest="models/manifests/.bench-$name.int8.json"
      sed "s/\"sha256\": *\"[0-9a-f]*\"/\"sha256\": \"$(sha256sum "$raw/int8/$name.int8.onnx" | cut -d' ' -f1)\"/" \
        "models/manifests/$manifest" > "$int8_manifest"
      cmd "$bin" bench --model "$raw/int8/$name.int8.onnx" --manifest "$int8_manifest" --profile simulated --threads 1 \
        --runs "${BENCH_MODEL_RUNS:-300}" --warmup 30 --json >"$raw/bench-$name-int8.json" 2>"$raw/bench-$name-int8.err"
      echo $? > "$raw/bench-$name-int8.code"
      rm -f "$int8_manifest"
    fi
  fi
done

log "demo pipeline end to end: 2 cores, then pinned to 1 core"
sed -e 's/"fps": 5/"fps": 0/' runtime/Linesight.Host/Demo/demo.config.json > "$raw/demo-unpaced.config.json"
demo_results="${BENCH_DEMO_RESULTS:-200}"
for cores in 0,1 0; do
  tag="cores-${cores//,/}"
  mosquitto_sub -p "$port" -t 'linesight/+/+/+/+/result' -C "$demo_results" -W 300 > "$raw/demo-$tag.jsonl" 2>/dev/null & sub=$!
  sleep 0.3
  rm -rf "$XDG_STATE_HOME"
  /usr/bin/time -v taskset -c "$cores" "$bin" run --config "$raw/demo-unpaced.config.json" --broker "mqtt://127.0.0.1:$port" \
    --max-results "$demo_results" > "$raw/demo-$tag.out" 2> "$raw/demo-$tag.err"
  printf '%s\ttaskset -c %s %s run --config demo-unpaced.config.json --broker mqtt://127.0.0.1:PORT --max-results %s\n' \
    "$(loadavg)" "$cores" "$bin" "$demo_results" >> "$raw/commands.tsv"
  wait "$sub"
done

log "cold start and peak RSS: NativeAOT, then JIT"
cmd deploy-scripts/bench-cold-start.sh "${BENCH_COLD_RUNS:-10}" artifacts/linux-x64 > "$raw/cold-aot.md" 2>&1
cmd deploy-scripts/bench-cold-start.sh "${BENCH_COLD_RUNS:-10}" "$(dirname "$jit")" > "$raw/cold-jit.md" 2>&1

log "MQTT publish rates"
for qos in 0 1; do
  cmd "$bin" bench-mqtt --broker "mqtt://127.0.0.1:$port" --results "${BENCH_MQTT_RESULTS:-50000}" --qos "$qos" --json > "$raw/mqtt-qos$qos.json" 2>"$raw/mqtt-qos$qos.err"
done

echo "load_end=$(loadavg)" >> "$raw/machine.env"
echo "seconds=$(( $(date +%s) - started ))" >> "$raw/machine.env"
log "writing docs/benchmarks.md (generated part) and docs/benchmarks.svg"
/usr/bin/python3 deploy-scripts/bench-report.py "$raw" docs/benchmarks.md docs/benchmarks.svg
log "done"
