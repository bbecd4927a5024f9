#!/usr/bin/env bash
# First-time setup of a box (run as root on the box), then the first health-gated install:
#   install.sh --bundle B.bundle --profile NAME --public-key release.public.pem
#              [--root /opt/linesight] [--broker mqtt://host:port] [--outcome-topic TOPIC]
#              [--health-timeout SECONDS] [--latency-budget-ms MS] [--allow-unsigned]
# Lays out ROOT/{a,b,etc,state,bin}, writes etc/policy.json (signatures required unless --allow-unsigned), the guard,
# the systemd unit generated from the profile, then runs `linesight bundle install`. Before any code from the bundle
# runs, its signature is checked with openssl and its binary's SHA-256 against the signed manifest.
# SYSTEMCTL (default systemctl) and UNIT_DIR (default /etc/systemd/system) can be overridden for tests.
# Exit: 0 committed, 1 rolled back / failed, 2 bad arguments or a bundle refused.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root=/opt/linesight; bundle=; profile=; public_key=; broker=; outcome_topic=; timeout=120; budget=; unsigned=false
systemctl_cmd="${SYSTEMCTL:-systemctl}"
unit_dir="${UNIT_DIR:-/etc/systemd/system}"
die() { echo "install.sh: $*" >&2; exit 2; }
while (( $# )); do
  case "$1" in
    --bundle) bundle="$2"; shift 2 ;;
    --profile) profile="$2"; shift 2 ;;
    --public-key) public_key="$2"; shift 2 ;;
    --root) root="$2"; shift 2 ;;
    --broker) broker="$2"; shift 2 ;;
    --outcome-topic) outcome_topic="$2"; shift 2 ;;
    --health-timeout) timeout="$2"; shift 2 ;;
    --latency-budget-ms) budget="$2"; shift 2 ;;
    --allow-unsigned) unsigned=true; shift ;;
    *) die "unknown argument '$1' (see the header of this script)" ;;
  esac
done
[[ -n "$bundle" && -f "$bundle" ]] || die "--bundle: '$bundle' is not a file"
[[ -n "$profile" ]] || die "--profile is required (the box's device profile)"
if [[ "$unsigned" == false ]]; then [[ -n "$public_key" && -f "$public_key" ]] || die "--public-key: '$public_key' is not a file (or pass --allow-unsigned)"; fi
[[ "$timeout" =~ ^[0-9]+$ ]] || die "--health-timeout: '$timeout' is not a number of seconds"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tar -xzf "$bundle" -C "$work" bundle.json payload/linesight 2>/dev/null || die "$bundle: not a full bundle (no bundle.json / payload/linesight)"
tar -xzf "$bundle" -C "$work" bundle.sig 2>/dev/null || true
if [[ "$unsigned" == false ]]; then
  command -v openssl >/dev/null || die "openssl is needed to check the bundle's signature before running its binary"
  [[ -f "$work/bundle.sig" ]] || die "$bundle: not signed"
  openssl dgst -sha256 -verify "$public_key" -signature "$work/bundle.sig" "$work/bundle.json" >/dev/null 2>&1 \
    || die "$bundle: bad signature under $public_key"
fi
binary_sha="$(sha256sum "$work/payload/linesight" | cut -d' ' -f1)"
grep -A1 '"path": "linesight"' "$work/bundle.json" | grep -q "\"sha256\": \"$binary_sha\"" \
  || die "$bundle: linesight: SHA-256 does not match bundle.json"
chmod +x "$work/payload/linesight"
linesight="$work/payload/linesight"

mkdir -p "$root/etc" "$root/state" "$root/bin"
install -m 0755 "$here/linesight-guard.sh" "$root/bin/linesight-guard"
keys='[]'; require=false
if [[ "$unsigned" == false ]]; then
  install -m 0644 "$public_key" "$root/etc/trusted.public.pem"
  keys='["trusted.public.pem"]'; require=true
fi
{
  printf '{\n  "schemaVersion": 1,\n  "profile": "%s",\n  "requireSignature": %s,\n  "trustedKeys": %s,\n' "$profile" "$require" "$keys"
  printf '  "restartCommand": ["%s", "restart", "linesight.service"],\n' "$systemctl_cmd"
  printf '  "healthTimeoutSeconds": %s,\n' "$timeout"
  [[ -n "$budget" ]] && printf '  "latencyBudgetMs": %s,\n' "$budget"
  if [[ -n "$broker" && -n "$outcome_topic" ]]; then printf '  "outcomeBroker": "%s",\n  "outcomeTopic": "%s",\n' "$broker" "$outcome_topic"; fi
  printf '  "maxBoots": 3\n}\n'
} > "$root/etc/policy.json"
if [[ -n "$broker" ]]; then
  printf 'LINESIGHT_RUN_ARGS="--broker %s"\n' "$broker" > "$root/etc/linesight.env"
fi

"$linesight" bundle unit --profile "$profile" --root "$root" > "$unit_dir/linesight.service"
"$systemctl_cmd" daemon-reload
"$systemctl_cmd" enable linesight.service >/dev/null 2>&1 || "$systemctl_cmd" enable linesight.service

set +e
"$linesight" bundle install "$bundle" --root "$root"
code=$?
set -e
exit "$code"
