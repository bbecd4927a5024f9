#!/usr/bin/env bash
# Cold start of the published binary to its first broker-acknowledged result, and its peak RSS:
#   deploy-scripts/bench-cold-start.sh [runs=10] [artifacts/linux-x64]
# Each run: `linesight run --broker <local mosquitto> --max-results 1` under /usr/bin/time -v.
# "first result" is the runtime's own log line (broker ack time − process start time from /proc);
# wall and RSS come from /usr/bin/time. Prints a Markdown table and the medians.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${1:-10}"
dir="${2:-$root/artifacts/linux-x64}"
work="$(mktemp -d)"
port="$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$port" > "$work/m.conf"
mosquitto -c "$work/m.conf" >/dev/null 2>&1 & broker=$!
trap 'kill $broker; rm -rf "$work"' EXIT
sleep 0.3
"$dir/linesight" run --broker "mqtt://127.0.0.1:$port" --max-results 1 >/dev/null 2>&1  # page cache warm, like a box after boot

echo "| run | first result (ms) | wall (ms) | peak RSS (MB) |"
echo "|---|---|---|---|"
firsts=(); walls=(); rss=()
for i in $(seq "$runs"); do
  /usr/bin/time -v "$dir/linesight" run --broker "mqtt://127.0.0.1:$port" --max-results 1 > /dev/null 2> "$work/err"
  f=$(grep -o 'first result delivered [0-9]* ms' "$work/err" | grep -o '[0-9]*')
  w=$(grep 'Elapsed (wall clock)' "$work/err" | awk '{print $NF}' | awk -F: '{printf "%d", ($1*60+$2)*1000}')
  r=$(grep 'Maximum resident set size' "$work/err" | awk '{printf "%.1f", $NF/1024}')
  firsts+=("$f"); walls+=("$w"); rss+=("$r")
  echo "| $i | $f | $w | $r |"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
max() { printf '%s\n' "$@" | sort -n | tail -1; }
echo
echo "median first result: $(median "${firsts[@]}") ms (max $(max "${firsts[@]}")); median wall: $(median "${walls[@]}") ms; median peak RSS: $(median "${rss[@]}") MB (max $(max "${rss[@]}"))"
