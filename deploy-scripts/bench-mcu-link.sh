#!/usr/bin/env bash
# Round-trip latency and frame throughput of the MCU link over a pseudo-terminal (docs/benchmarks.md):
#   deploy-scripts/bench-mcu-link.sh [BINARY] [SECONDS]
# BINARY defaults to the published artifacts/linux-x64/linesight. Runs the C MCU core (mcu-sim) on a pty and
# `linesight firmware ping` against it twice: idle (time-sync round trips) and with the MCU streaming
# 64-sample sensor frames as fast as the host drains them (--flood 1).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
binary="${1:-$root/artifacts/linux-x64/linesight}"
seconds="${2:-5}"
make -s -C "$root/firmware-bridge/mcu"
sim="$root/firmware-bridge/mcu/build/mcu-sim"

run() {
  local fifo out pid port
  fifo="$(mktemp -u)"; mkfifo "$fifo"
  out="$(mktemp)"
  "$sim" "$@" < "$fifo" > "$out" &
  pid=$!
  exec 9> "$fifo" # keeps the simulator's stdin open; closing it ends the simulator
  for _ in $(seq 100); do port="$(sed -n 's/^PTY //p' "$out")"; [[ -n "$port" ]] && break; sleep 0.05; done
  "$binary" firmware ping --port "$port" --seconds "$seconds"
  exec 9>&-
  wait "$pid" || true
  rm -f "$fifo" "$out"
}

echo "== idle link: time-sync round trips"
run --drift-ppm 250
echo "== MCU streaming sensor frames (64 samples: 142-byte payload, about 156 bytes on the wire each)"
run --flood 1
