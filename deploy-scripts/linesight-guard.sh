#!/bin/sh
# The unit's ExecStartPre (installed as ROOT/bin/linesight-guard by install.sh): counts the starts of a slot on
# trial and switches back to the previous slot when it crash-loops (more starts than max_boots) or when its trial
# outlived its deadline (the installer died, the box lost power mid-trial). Plain sh, no .NET: it must work when
# the new binary does not.
#   linesight-guard ROOT
set -eu
root="${1:-/opt/linesight}"
state="$root/state"
trial="$state/trial"
[ -f "$trial" ] || exit 0

exec 9>"$state/trial.lock"
flock -w 30 9
[ -f "$trial" ] || exit 0

slot=; previous=; boots=0; max_boots=3; deadline=0; version=
while IFS='=' read -r key value; do
  case "$key" in
    slot) slot="$value" ;;
    previous) previous="$value" ;;
    boots) boots="$value" ;;
    max_boots) max_boots="$value" ;;
    deadline) deadline="$value" ;;
    version) version="$value" ;;
  esac
done < "$trial"
case "$slot" in a|b) ;; *) echo "linesight-guard: $trial: bad slot '$slot'" >&2; exit 1 ;; esac

boots=$((boots + 1))
now="$(date +%s)"
reason=
if [ "$boots" -gt "$max_boots" ]; then
  reason="crash loop: slot $slot started $boots times without becoming healthy (limit $max_boots)"
elif [ "$now" -gt "$deadline" ]; then
  reason="trial of slot $slot outlived its deadline without a verdict (installer gone or power lost)"
fi

if [ -z "$reason" ]; then
  sed "s/^boots=.*/boots=$boots/" "$trial" > "$trial.partial"
  mv -f "$trial.partial" "$trial"
  exit 0
fi

if [ -n "$previous" ]; then
  ln -sfn "$previous" "$root/.current.new"
  mv -Tf "$root/.current.new" "$root/current"
  outcome=rolled-back; running="$previous"; previous_json="\"$previous\""
else
  rm -f "$root/current"
  outcome=failed; running=none; previous_json=null; reason="$reason; no previous slot to return to"
fi
printf '{"schemaVersion":1,"outcome":"%s","bundle":"","version":"%s","slot":"%s","previousSlot":%s,"runningSlot":"%s","reason":"%s","time":"%s"}\n' \
  "$outcome" "$version" "$slot" "$previous_json" "$running" "$reason" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$state/last-deploy.json.partial"
mv -f "$state/last-deploy.json.partial" "$state/last-deploy.json"
rm -f "$trial"
echo "linesight-guard: $reason; now on slot $running" >&2
[ "$outcome" = rolled-back ]
