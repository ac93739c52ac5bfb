#!/usr/bin/env bash
# README quick start: installs the npm dependencies if needed, then runs Veil's main job on the bundled samples/.
# De-identified output goes to out/ (git-ignored). Works from any cwd.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

echo "==> install"
install_node_modules
build_bundle

if [[ ! -d samples ]] || [[ -z "$(find samples -type f -print -quit)" ]]; then
  echo "error: no sample files in $PWD/samples" >&2
  exit 1
fi

# The secret key never lives in the repository: take VEIL_KEY from the environment, or a key file in the user's
# config folder, made once with `veil keygen`.
KEY_ARGS=()
if [[ -z "${VEIL_KEY:-}" ]]; then
  KEY_FILE="${VEIL_KEY_FILE:-${XDG_CONFIG_HOME:-$HOME/.config}/veil/quickstart.key}"
  if [[ ! -s "$KEY_FILE" ]]; then
    mkdir -p "$(dirname "$KEY_FILE")"
    (umask 077 && npx veil keygen --out "$KEY_FILE")
    echo "new key written to $KEY_FILE (keep it secret: it makes the pseudonyms)"
  fi
  KEY_ARGS=(--key-file "$KEY_FILE")
fi

rm -rf out/deid out/deid.quarantine out/pixels
echo "==> veil deid samples --out out/deid (Basic Application Level Confidentiality Profile, no options;"
echo "    burned-in text: every image scanned and redacted, the default)"
npx veil deid samples --out out/deid "${KEY_ARGS[@]}"
echo "de-identified files in $PWD/out/deid; run report: out/deid/veil-report.html"

# The pixel text stage on the ultrasound sample (its header bar carries text): the boxes it fills, and a preview of
# the redacted output (never the original pixels).
echo "==> veil pixels scan samples/OBXXXX1A_rle.dcm --out out/pixels"
npx veil pixels scan samples/OBXXXX1A_rle.dcm --out out/pixels |
  node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>{for(const l of s.trim().split("\n")){const r=JSON.parse(l);const n=r.boxes.reduce((a,f)=>a+f.boxes.length,0);console.log(`${r.file}: ${n} text box(es) filled in ${r.frames} frame(s)`);}})'
echo "preview of the redacted output: $PWD/out/pixels/index.html"
