#!/usr/bin/env bash
# Test stand-in for systemctl (CI containers run no systemd): runs the generated unit's ExecStartPre and ExecStart
# the way Restart=on-failure does, in a process group of its own, with the unit's EnvironmentFile.
#   FAKE_SYSTEMD_UNIT=/path/linesight.service fake-systemctl.sh restart|start|stop|daemon-reload|enable [UNIT]
set -euo pipefail
unit="${FAKE_SYSTEMD_UNIT:?FAKE_SYSTEMD_UNIT names the unit file}"
pidfile="$unit.pid"
log="$unit.log"
stop() {
  if [[ -f "$pidfile" ]]; then
    kill -TERM -- "-$(cat "$pidfile")" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 -- "-$(cat "$pidfile")" 2>/dev/null || break; sleep 0.1; done
    rm -f "$pidfile"
  fi
}
case "${1:-}" in
  daemon-reload|enable) exit 0 ;;
  stop) stop; exit 0 ;;
  restart|start) stop ;;
  *) echo "fake-systemctl: unsupported command '${1:-}'" >&2; exit 1 ;;
esac
pre="$(sed -n 's/^ExecStartPre=+\{0,1\}//p' "$unit")"
start="$(sed -n 's/^ExecStart=//p' "$unit")"
envfile="$(sed -n 's/^EnvironmentFile=-\{0,1\}//p' "$unit")"
# shellcheck disable=SC2016  # expanded by the inner shell
setsid bash -c '
  if [[ -f "$3" ]]; then set -a; . "$3"; set +a; fi
  while true; do
    eval "$1" || exit 1
    eval "$2" && exit 0
    sleep 1
  done' _ "$pre" "$start" "$envfile" >>"$log" 2>&1 </dev/null &
echo $! > "$pidfile"
