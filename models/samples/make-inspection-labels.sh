#!/usr/bin/env bash
# Renders the demo's inspection frames: whole 480x160 labels as a camera over the line sees them (the text detector
# finds the line, the orientation classifier turns it, the recogniser reads it). Most carry the running order's lot
# code LOT 2026-11-A7, some upside down; a few carry a wrong code or none, so the demo shows fails.
# Run once by a developer (needs Debian's imagemagick and fonts-dejavu-core/fonts-liberation); the PNGs are
# committed, and their expected verdicts are recorded in inspection/expected.tsv.
set -euo pipefail
cd "$(dirname "$0")/inspection"
rm -f ./*.png
printf '# file\ttext\trotation_degrees\texpected_verdict\n' > expected.tsv
i=0
while IFS='|' read -r text font angle; do
  i=$((i + 1))
  name=$(printf 'part-%02d.png' "$i")
  verdict=pass; [[ "$text" != "LOT 2026-11-A7" ]] && verdict=fail
  convert -size 480x160 xc:'#f4f1e8' -fill '#1a1a1a' -font "$font" -pointsize 34 -gravity west \
    -annotate +28+0 "$text" -rotate "$angle" -attenuate 0.3 +noise Gaussian -alpha off -depth 8 -strip "$name"
  printf '%s\t%s\t%s\t%s\n' "$name" "$text" "$angle" "$verdict" >> expected.tsv
done <<'PARTS'
LOT 2026-11-A7|DejaVu-Sans-Bold|0
LOT 2026-11-A7|Liberation-Sans|180
LOT 2026-11-A7|DejaVu-Sans-Mono|0
LOT 2026-11-A1|Liberation-Serif-Bold|0
LOT 2026-11-A7|DejaVu-Serif|180
LOT 2026-11-A7|Liberation-Mono|0
LOT 2026-12-A7|DejaVu-Sans|180
LOT 2026-11-A7|Liberation-Sans-Bold|0
PARTS
