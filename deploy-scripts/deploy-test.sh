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
    "strings '$root/artifacts/linux-arm64/linesight' | grep -F \"\$('$x64/linesight' --version | head -1 | sed -E 's/^linesight ([^ ]+) \\(commit ([^)]+)\\)/\\1+\\2/')\" >/dev/null"
else
  echo "not ok - linux-arm64 NativeAOT cross build"; tail -30 "$root/artifacts/build-arm64.log"; failed=$((failed + 1))
fi
check "deploy scripts pass shellcheck" "shellcheck -x '$root'/deploy-scripts/*.sh '$root'/tests/deploy/*.sh"

# End to end with the real linux-x64 binary: first install with install.sh, then flash-device.sh over a real sshd on
# 127.0.0.1 (upgrade, then a broken bundle that must roll back), into a temporary root. systemd is stood in for by
# tests/deploy/fake-systemctl.sh, which runs the generated unit's ExecStartPre/ExecStart as Restart=on-failure does.
bin="$x64/linesight"
work="$(mktemp -d)"
pids=()
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  FAKE_SYSTEMD_UNIT="$work/units/linesight.service" "$root/tests/deploy/fake-systemctl.sh" stop 2>/dev/null
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

mqtt_port="$(free_port)"
printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$mqtt_port" > "$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 & pids+=("$!")
wait_port "$mqtt_port"

mkdir -p "$work/units" "$work/box" "$work/keys"
"$bin" bundle keygen --out "$work/keys" >/dev/null
config() { # config.json for the slot: the bundled model on the built-in sample labels; the broker comes from etc/linesight.env
  cat > "$work/line.json" <<JSON
{ "configVersion": 1, "profile": "simulated",
  "device": { "site": "plant", "line": "line-1", "id": "box-7" }, "stream": "labels",
  "source": { "type": "image-folder", "path": "builtin:samples/labels", "fps": 20, "loop": true },
  "model": { "path": "models/$1", "manifest": "models/ppocr-text-orientation.json" },
  "mqtt": { "broker": "mqtt://127.0.0.1:1", "qos": 1 } }
JSON
}
model="$root/models/cache/ch_ppocr_mobile_v2.0_cls_infer.onnx"
manifest="$root/models/manifests/ppocr-text-orientation.json"
pack() { # pack NAME VERSION MODEL_FILE
  config "$(basename "$3")"
  "$bin" bundle create --output "$work/$1.bundle" --profile simulated --binary-dir "$x64" --model "$3" --manifest "$manifest" \
    --config "$work/line.json" --key "$work/keys/release.private.pem" --version "$2" >/dev/null
}
pack v1 1.0.0 "$model"
pack v2 2.0.0 "$model"
head -c 4096 /dev/urandom > "$work/broken.onnx"
pack broken 3.0.0 "$work/broken.onnx"
"$bin" bundle keygen --out "$work/keys" --name other >/dev/null
check "bundle verify names the bad signature under the wrong key (exit 2)" \
  "! '$bin' bundle verify '$work/v1.bundle' --public-key '$work/keys/other.public.pem' 2>'$work/verify.err'; [[ \$? == 0 ]] && grep -q 'bad signature' '$work/verify.err'"

export SYSTEMCTL="$root/tests/deploy/fake-systemctl.sh" UNIT_DIR="$work/units" FAKE_SYSTEMD_UNIT="$work/units/linesight.service"
topic="linesight/plant/line-1/box-7/deploy"
"$root/deploy-scripts/install.sh" --bundle "$work/v1.bundle" --profile simulated --public-key "$work/keys/release.public.pem" \
  --root "$work/box" --broker "mqtt://127.0.0.1:$mqtt_port" --outcome-topic "$topic" --health-timeout 120 > "$work/install.out" 2>&1
code=$?
check "install.sh sets up a fresh box and the real binary commits slot a healthy (exit $code)" \
  "[[ $code == 0 ]] && grep -q '^committed: version 1.0.0 in slot a' '$work/install.out' && [[ \$(readlink '$work/box/current') == a ]]"
[[ $code == 0 ]] || { cat "$work/install.out"; tail -20 "$work/units/linesight.service.log"; }
check "the generated unit passes systemd-analyze verify" "systemd-analyze verify '$work/units/linesight.service' 2>'$work/analyze.err' && ! grep -q linesight.service '$work/analyze.err'"
check "the committed outcome is retained on MQTT" \
  "timeout 10 mosquitto_sub -h 127.0.0.1 -p $mqtt_port -t '$topic' -C 1 | grep -q '\"outcome\": \"committed\"'"

# A real sshd on 127.0.0.1 with a throw-away host key and client key.
ssh_port="$(free_port)"
ssh-keygen -q -t ed25519 -N '' -f "$work/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$work/client_key"
cp "$work/client_key.pub" "$work/authorized_keys"
mkdir -p /run/sshd
cat > "$work/sshd_config" <<CONF
Port $ssh_port
ListenAddress 127.0.0.1
HostKey $work/host_key
AuthorizedKeysFile $work/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PidFile $work/sshd.pid
Subsystem sftp internal-sftp
SetEnv SYSTEMCTL=$SYSTEMCTL FAKE_SYSTEMD_UNIT=$FAKE_SYSTEMD_UNIT
CONF
/usr/sbin/sshd -D -e -f "$work/sshd_config" 2>"$work/sshd.log" & pids+=("$!")
wait_port "$ssh_port"
export FLASH_SSH_OPTS="-o StrictHostKeyChecking=no -o UserKnownHostsFile=$work/known_hosts -o LogLevel=ERROR"
flash() { "$root/deploy-scripts/flash-device.sh" "$(id -un)@127.0.0.1" "$1" --port "$ssh_port" --identity "$work/client_key" --root "$work/box"; }

flash "$work/v2.bundle" > "$work/flash-v2.out" 2>&1
code=$?
check "flash-device.sh over ssh upgrades to 2.0.0 in slot b, healthy (exit $code)" \
  "[[ $code == 0 ]] && grep -q '^committed: version 2.0.0 in slot b' '$work/flash-v2.out' && [[ \$(readlink '$work/box/current') == b ]]"
[[ $code == 0 ]] || { cat "$work/flash-v2.out"; tail -20 "$work/units/linesight.service.log"; }

"$bin" bundle rollback --root "$work/box" > "$work/rollback.out" 2>&1
check "bundle rollback switches back to slot a (1.0.0) on demand" "[[ \$(readlink '$work/box/current') == a ]]"
flash "$work/broken.bundle" > "$work/flash-broken.out" 2>&1
code=$?
check "a bundle whose model cannot load crash-loops, is rolled back to 1.0.0 in slot a, and flash-device.sh says why (exit $code)" \
  "[[ $code == 1 ]] && grep -q 'rolled-back: version 3.0.0 in slot b; running slot a' '$work/flash-broken.out' && grep -q 'crash loop' '$work/flash-broken.out' && [[ \$(readlink '$work/box/current') == a ]]"
[[ $code == 1 ]] || { cat "$work/flash-broken.out"; tail -20 "$work/units/linesight.service.log"; }
check "after the rollback the previous version runs and reports healthy" \
  "for _ in \$(seq 300); do grep -q '\"binaryPath\": \"$work/box/a/linesight\"' '$work/box/state/health.json' 2>/dev/null && grep -q '\"brokerOnline\": true' '$work/box/state/health.json' && break; sleep 0.2; done; grep -q '\"binaryPath\": \"$work/box/a/linesight\"' '$work/box/state/health.json' && grep -q '\"brokerOnline\": true' '$work/box/state/health.json'"
grep -q '"brokerOnline": true' "$work/box/state/health.json" 2>/dev/null || { cat "$work/box/state/health.json"; tail -30 "$work/units/linesight.service.log"; }
check "the rolled-back outcome is retained on MQTT" \
  "timeout 10 mosquitto_sub -h 127.0.0.1 -p $mqtt_port -t '$topic' -C 1 | grep -q '\"outcome\": \"rolled-back\"'"

"$bin" bundle keygen --out "$work/keys" --name intruder >/dev/null
"$bin" bundle create --output "$work/intruder.bundle" --profile simulated --binary-dir "$x64" --model "$model" \
  --key "$work/keys/intruder.private.pem" >/dev/null
flash "$work/intruder.bundle" > "$work/flash-intruder.out" 2>&1
code=$?
check "a bundle signed with another key is refused on the box, nothing changes (exit $code)" \
  "[[ $code != 0 ]] && grep -q 'bad signature' '$work/flash-intruder.out' && [[ \$(readlink '$work/box/current') == a ]]"

exit $(( failed > 0 ))
