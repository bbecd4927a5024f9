#!/usr/bin/env bash
# One command for a field engineer: put a bundle on a box over SSH and wait for the verdict.
#   flash-device.sh USER@HOST BUNDLE [--root /opt/linesight] [--port 22] [--identity KEY]
#                   [--profile NAME --public-key release.public.pem [--broker URL]]   (first time on a fresh box)
# Copies the bundle, verifies it on the box with the installed runtime and the box's trusted key, installs it into
# the inactive slot and waits for the health gate: prints "committed" (exit 0), or "rolled back"/"failed" with the
# reason (exit 1) and the box stays on its previous version. A fresh box (nothing installed) is set up with
# install.sh, which needs --profile and --public-key. Extra ssh options: FLASH_SSH_OPTS="-o ...".
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
usage() { sed -n '2,9p' "${BASH_SOURCE[0]}" >&2; exit 2; }
(( $# >= 2 )) || usage
target="$1"; bundle="$2"; shift 2
root=/opt/linesight; port=22; identity=; profile=; public_key=; broker=
while (( $# )); do
  case "$1" in
    --root) root="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --identity) identity="$2"; shift 2 ;;
    --profile) profile="$2"; shift 2 ;;
    --public-key) public_key="$2"; shift 2 ;;
    --broker) broker="$2"; shift 2 ;;
    *) echo "flash-device.sh: unknown argument '$1'" >&2; usage ;;
  esac
done
[[ -f "$bundle" ]] || { echo "flash-device.sh: $bundle: no such bundle" >&2; exit 2; }

ssh_opts=(-p "$port" -o BatchMode=yes -o ConnectTimeout=15)
[[ -n "$identity" ]] && ssh_opts+=(-i "$identity")
# shellcheck disable=SC2206  # FLASH_SSH_OPTS is a list of ssh options on purpose
[[ -n "${FLASH_SSH_OPTS:-}" ]] && ssh_opts+=(${FLASH_SSH_OPTS})
scp_opts=("${ssh_opts[@]}"); scp_opts[0]=-P
# shellcheck disable=SC2029  # commands are built here, quoted with q, and run on the box
on_box() { ssh "${ssh_opts[@]}" "$target" "$@"; }
q() { printf '%q' "$1"; }

say() { echo "flash-device.sh: $*" >&2; }
say "connecting to $target"
remote="$(on_box 'mktemp -d /tmp/linesight-flash.XXXXXX')" || { say "cannot reach $target over ssh"; exit 1; }
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() { on_box "rm -rf $(q "$remote")" >/dev/null 2>&1 || true; }
trap cleanup EXIT

say "copying $(basename "$bundle") ($(du -h "$bundle" | cut -f1))"
remote_bundle="$remote/$(basename "$bundle")"
scp -q "${scp_opts[@]}" "$bundle" "$target:$remote_bundle"

set +e
if on_box "test -x $(q "$root/current/linesight")"; then
  say "verifying on the box"
  # install.sh keeps the box's trusted key as etc/trusted.public.pem (absent on a box that allows unsigned bundles).
  verify="$(q "$root/current/linesight") bundle verify $(q "$remote_bundle")"
  on_box "test -f $(q "$root/etc/trusted.public.pem")" && verify+=" --public-key $(q "$root/etc/trusted.public.pem")"
  if ! on_box "$verify"; then
    say "the box refused the bundle; nothing was changed"; exit 1
  fi
  say "installing and waiting for the health verdict"
  verdict="$(on_box "$(q "$root/current/linesight") bundle install $(q "$remote_bundle") --root $(q "$root")")"
  code=$?
else
  [[ -n "$profile" && -n "$public_key" ]] || { say "$target has no linesight under $root yet: pass --profile and --public-key for the first install"; exit 2; }
  say "fresh box: first-time setup under $root"
  scp -q "${scp_opts[@]}" "$here/install.sh" "$here/linesight-guard.sh" "$public_key" "$target:$remote/"
  extra=""
  [[ -n "$broker" ]] && extra="--broker $(q "$broker")"
  verdict="$(on_box "bash $(q "$remote/install.sh") --bundle $(q "$remote_bundle") --profile $(q "$profile") --public-key $(q "$remote/$(basename "$public_key")") --root $(q "$root") $extra")"
  code=$?
fi
set -e

echo "$verdict"
case "$code" in
  0) say "OK: the box runs the new version and reports healthy" ;;
  1) say "NOT INSTALLED: $verdict"; say "the box is back on its previous version (see 'linesight bundle status --root $root')" ;;
  *) say "refused (exit $code): nothing was changed" ;;
esac
exit "$code"
