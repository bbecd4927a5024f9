#!/usr/bin/env bash
# Builds Linesight if needed and runs the demo: the built-in label-inspection line (simulated profile, bundled
# label images → PP-OCR text detection → orientation → reading → compared with the expected lot code, a simulated
# vibration sensor fused in → pass/fail, rejects on a simulated actuator) publishing to an embedded MQTT broker, and
# shows the verdicts streaming as an MQTT subscriber sees them. Ctrl-C stops it (the runtime drains and goes offline).
#   DEMO_PORT=1883      embedded broker port (if a broker already listens there, the demo publishes to it)
#   DEMO_SECONDS=0      stop after this many seconds (0: run until Ctrl-C)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/artifacts/linux-x64/linesight"
port="${DEMO_PORT:-1883}"
seconds="${DEMO_SECONDS:-0}"

newest_source="$(find "$root/runtime" "$root/device-profiles" "$root/models" -type f \( -name '*.cs' -o -name '*.json' -o -name '*.csproj' -o -name '*.png' -o -name '*.jpg' \) -newer "$bin" -print -quit 2>/dev/null || true)"
if [[ ! -x "$bin" || -n "$newest_source" ]]; then
  echo "demo.sh: building the NativeAOT binary (deploy-scripts/build.sh linux-x64)..." >&2
  "$root/deploy-scripts/build.sh" linux-x64 >/dev/null
fi
if ! command -v mosquitto_sub >/dev/null; then
  echo "demo.sh: installing mosquitto-clients to watch the results" >&2
  sudo_cmd=(); [[ $EUID -ne 0 ]] && sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq mosquitto-clients >/dev/null
fi

config="$(mktemp --suffix=.json)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -f "$config"
}
trap cleanup EXIT INT TERM

if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "demo.sh: a broker already listens on 127.0.0.1:$port; publishing to it" >&2
  args=(run --broker "mqtt://127.0.0.1:$port")
else
  # The built-in demo config with the embedded broker moved to the chosen port.
  args=(run)
  if [[ "$port" != 1883 ]]; then
    # The built-in demo config (builtin: paths work from any file) with the embedded broker moved to the chosen port.
    sed -e "s#mqtt://127.0.0.1:1883#mqtt://127.0.0.1:$port#" -e "s#\"port\": 1883#\"port\": $port#" \
      "$root/runtime/Linesight.Host/Demo/demo.config.json" > "$config"
    args=(run --config "$config")
  fi
fi

"$bin" "${args[@]}" & pids+=($!)
for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
echo "demo.sh: results on mqtt://127.0.0.1:$port, topic linesight/demo-site/line-1/demo-box/label-inspection/result" >&2
# Shown as a subscriber sees them: one line per part, e.g.  #3  part-02.png  pass  "LOT 2026-11-A7" → 180°  (inference 95.1 ms)
mosquitto_sub -h 127.0.0.1 -p "$port" -i "demo-watch-$$" -t 'linesight/+/+/+/+/result' -F '%p' > >(sed -u -E -e 's/.*"seq":([0-9]+).*"sourceItem":"([^"]*)".*"inference":([0-9.]+).*"verdict":"([a-z]+)","reasons":\[([^]]*)\].*"text":"([^"]*)","rotation":([0-9]+).*/  #\1  \2  \4  "\6" → \7°  \5 (inference \3 ms)/' -e 's/\\u0022/"/g') &
pids+=($!)
if (( seconds > 0 )); then sleep "$seconds"; else wait "${pids[0]}"; fi
