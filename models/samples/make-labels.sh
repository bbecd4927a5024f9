#!/usr/bin/env bash
# Renders the demo's sample label crops (tight text lines, as a text detector hands them on).
# Run once by a developer (needs Debian's imagemagick and fonts-dejavu-core/fonts-liberation);
# the PNGs are committed. The orientation of each is recorded in labels/orientation.tsv.
set -euo pipefail
cd "$(dirname "$0")/labels"
rm -f ./*.png ./*.jpg
printf '# file\torientation_degrees\n' > orientation.tsv
i=0
while IFS='|' read -r text font size; do
  i=$((i + 1))
  for angle in 0 180; do
    # Alternate which texts appear upright first so that file order does not follow orientation.
    if (( (i % 2 == 1) == (angle == 0) )); then side=a; else side=b; fi
    ext=png; (( i == 3 )) && ext=jpg
    name=$(printf 'label-%02d-%s.%s' "$i" "$side" "$ext")
    convert -background '#f4f1e8' -fill '#1a1a1a' -font "$font" -pointsize "$size" \
      label:"$text" -bordercolor '#f4f1e8' -border 6x4 -rotate "$angle" \
      -attenuate 0.3 +noise Gaussian -alpha off -depth 8 -strip "$name"
    printf '%s\t%s\n' "$name" "$angle" >> orientation.tsv
  done
done <<'TEXTS'
LOT 2026-11-A7|DejaVu-Sans-Bold|32
EXP 05/2027|Liberation-Sans|30
SN 00421789|DejaVu-Sans-Mono|28
BATCH 88-C  QTY 24|Liberation-Serif-Bold|30
MADE IN EU  REF 7731|DejaVu-Sans|26
TEXTS
