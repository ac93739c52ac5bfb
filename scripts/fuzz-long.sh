#!/usr/bin/env bash
# A long fuzz run of the DICOM core and the release path (packages/core/test/fuzz/run.ts), with a time-based seed,
# for nightly or by hand. Unlike CI's 100,000 iterations (release path on 1 in 4 inputs that scan), every input that
# scans goes through the release path here.
#   bash scripts/fuzz-long.sh [iterations]      default 1,000,000 iterations
# VEIL_FUZZ_SEED overrides the seed, VEIL_FUZZ_RELEASE the release sampling. A crash or hang prints the seed and
# iteration (replay with VEIL_FUZZ_SEED=<seed> VEIL_FUZZ_ONLY=<iteration>), saves the input under .tmp/fuzz-crashes/
# and exits 1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seed=${VEIL_FUZZ_SEED:-$(date +%s)}
iterations=${1:-${VEIL_FUZZ_ITERATIONS:-1000000}}
release=${VEIL_FUZZ_RELEASE:-1}
echo "fuzz-long: seed $seed, $iterations iterations, release path on 1 in $release inputs that scan"
exec env VEIL_FUZZ_SEED="$seed" VEIL_FUZZ_ITERATIONS="$iterations" VEIL_FUZZ_RELEASE="$release" \
  node --import tsx packages/core/test/fuzz/run.ts
