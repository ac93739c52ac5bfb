#!/usr/bin/env bash
# README quick start: installs the npm dependencies if needed, then runs Veil's main job on the bundled samples/.
# De-identified output goes to out/ (git-ignored). Works from any cwd.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

echo "==> install"
install_node_modules

if [[ ! -d samples ]] || [[ -z "$(find samples -type f -print -quit)" ]]; then
  echo "error: no sample files in $PWD/samples" >&2
  exit 1
fi

if [[ -f apps/veil/src/commands/deid.ts ]]; then
  echo "==> veil deid samples --out out/deid"
  npx veil deid samples --out out/deid
  echo "de-identified files written to $PWD/out/deid"
else
  # Until the deid command lands, show what Veil reads: a dump of every sample DICOM file.
  dumped=0
  while IFS= read -r -d '' file; do
    echo "==> veil dump $file"
    npx veil dump "$file"
    dumped=$((dumped + 1))
  done < <(find samples -type f ! -name '*.md' ! -name '*.json' ! -name '*.txt' ! -name '*.tsv' ! -name '.*' -print0 | sort -z)
  if ((dumped == 0)); then
    echo "error: no sample DICOM files in $PWD/samples" >&2
    exit 1
  fi
fi
