#!/usr/bin/env bash
# Smoke test of a published binary against a real mosquitto (deploy-scripts/test.sh runs it):
#   deploy-scripts/smoke-test.sh [artifacts/linux-x64]
# Prints one "ok - ..." / "not ok - ..." line per check; exits 1 if any check failed.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-$root/artifacts/linux-x64}"
bin="$dir/linesight"
work="$(mktemp -d)"
failed=0
pids=()
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT

check() { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; failed=$((failed + 1)); fi; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

check "binary is a NativeAOT ELF executable for x86-64" "file '$bin' | grep -q 'ELF 64-bit.*x86-64'"
check "libonnxruntime.so sits beside the binary" "[[ -f '$dir/libonnxruntime.so' ]]"
check "no Windows or macOS libraries in the output" "! ls '$dir' | grep -Eqi '\.(dll|dylib)$'"
check "--version names ONNX Runtime and the CPU execution provider" "'$bin' --version | grep -q 'execution providers: .*CPUExecutionProvider'"

port="$(free_port)"
printf 'listener %s 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n' "$port" > "$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 & pids+=($!)
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

results=12
mosquitto_sub -h 127.0.0.1 -p "$port" -i smoke-sub -q 1 -v -t 'linesight/#' > "$work/messages.txt" 2>"$work/sub.err" & sub=$!; pids+=("$sub")
sleep 0.3
XDG_STATE_HOME="$work/state" "$bin" run --broker "mqtt://127.0.0.1:$port" > "$work/run.out" 2> "$work/run.err" & run=$!; pids+=("$run")
for _ in $(seq 900); do (( $(grep -c '/result ' "$work/messages.txt") >= results )) && break; sleep 0.1; done
kill -TERM "$run"; wait "$run"; code=$?
sleep 0.3; kill "$sub" 2>/dev/null
check "demo pipeline exits 0 on SIGTERM after draining" "[[ $code == 0 ]] && grep -q ' 0 undelivered' '$work/run.err'"
check "last status message is the retained 'offline' (shutdown)" "grep '/status ' '$work/messages.txt' | tail -1 | grep -q '\"state\":\"offline\",.*\"reason\":\"shutdown\"'"
/usr/bin/python3 "$root/deploy-scripts/smoke/check_messages.py" "$work/messages.txt" "$results" "$root" || failed=$((failed + 1))

# Bad input: one clear line, exit 2, no stack trace.
"$bin" run --config /nonexistent.json > /dev/null 2> "$work/bad.err"; code=$?
check "a missing config file is one clear line with exit 2" "[[ $code == 2 ]] && [[ \$(wc -l < '$work/bad.err') == 1 ]] && grep -q '/nonexistent.json' '$work/bad.err'"

echo "# smoke checks failed: $failed"
exit $(( failed > 0 ? 1 : 0 ))
